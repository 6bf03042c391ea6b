"""Import pages (upload → preview → confirm → result) and the filtered CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from openprm.core.models import AuditEntry
from openprm.core.permissions import Role
from openprm.core.scoping import unscoped
from openprm.integrations.tests.helpers import HEADER
from openprm.partners.models import Partner
from openprm.testing import make_partner, make_user

pytestmark = pytest.mark.django_db

UPLOAD = reverse("integrations:partners_import")
EXPORT = reverse("integrations:partners_export")
ROWS = [
    "N-1,New One,reseller,Gold,active,DE,,,,,",
    "A-1,Acme Resellers,reseller,Platinum,active,DE,,,acme.example,,",  # an update of partner_a
    "N-2,New Two,referral,,active,ZZ,,,,2024-13-01,",  # bad: country and date
]


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


def csv_upload(*lines: str, header: str = HEADER, name: str = "partners.csv") -> SimpleUploadedFile:
    text = "\r\n".join([header, *lines]) + "\r\n"
    return SimpleUploadedFile(name, b"\xef\xbb\xbf" + text.encode(), content_type="text/csv")


def upload(client, *lines: str, **kw):
    return client.post(UPLOAD, {"file": csv_upload(*lines, **kw)})


def partner_count() -> int:
    with unscoped():
        return Partner.objects.count()


def export_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_upload_preview_confirm_flow(world, client_for, var_dir):
    client = client_for(world.manager)
    assert client.get(UPLOAD).status_code == 200

    response = upload(client, *ROWS)
    assert response.status_code == 302
    preview_url = response["Location"]
    token = preview_url.rstrip("/").rsplit("/", 1)[-1]
    assert (var_dir / "imports" / token).is_file()  # stored on disk, not in the session
    assert token not in str(dict(client.session))

    page = client.get(preview_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "1 to create" in html and "1 to update" in html and "1 bad row" in html
    assert "Unknown country &#x27;ZZ&#x27;" in html
    assert "Not an ISO date (YYYY-MM-DD): &#x27;2024-13-01&#x27;" in html
    assert [e.line for e in page.context["result"].errors] == [4, 4]
    assert partner_count() == 2  # a preview writes nothing

    refused = client.post(preview_url, {}, follow=True)  # confirm without skipping the bad row
    assert refused.redirect_chain == [(preview_url, 302)]
    assert "Nothing was imported" in refused.content.decode()
    assert refused.context["result"].created == 1  # the preview again
    assert partner_count() == 2

    done = client.post(preview_url, {"skip_invalid": "on"})
    assert done.status_code == 302 and done["Location"].endswith("/result/")
    assert partner_count() == 3
    with unscoped():
        assert Partner.objects.get(external_id="A-1").enrolments.get().tier.name == "Platinum"
        assert AuditEntry.objects.filter(actor_id=world.manager.pk, action="create").count() == 1
    assert not (var_dir / "imports" / token).exists()  # the upload is deleted once imported

    result = client.get(done["Location"])
    assert result.status_code == 200
    assert result.context["created"] == 1 and result.context["updated"] == 1
    assert result.context["rejected"] == 1
    assert client.get(preview_url)["Location"] == done["Location"]  # no second import of the same file
    assert partner_count() == 3


def test_preview_shows_the_first_rows_only(world, client_for):
    client = client_for(world.admin)
    lines = [f"M-{i},Many {i},reseller,,active,DE,,,,," for i in range(45)]
    page = client.get(upload(client, *lines)["Location"])

    result = page.context["result"]
    assert result.created == 45
    assert [row.line for row in result.preview] == list(range(2, 22))
    assert page.content.decode().count("<td>M-") == 20


def test_a_file_without_the_required_columns_is_refused_at_preview(world, client_for, var_dir):
    client = client_for(world.manager)
    response = client.get(upload(client, "N-1,New", header="external_id,name")["Location"])

    assert response.status_code == 400
    assert "Missing required column(s): type" in response.content.decode()
    assert list((var_dir / "imports").iterdir()) == []  # discarded


def test_pending_imports_belong_to_the_uploader(world, client_for):
    preview_url = upload(client_for(world.manager), *ROWS[:1])["Location"]

    other_staff = client_for(world.admin)
    assert other_staff.get(preview_url).status_code == 404
    assert other_staff.post(preview_url, {"skip_invalid": "on"}).status_code == 404
    assert other_staff.get(preview_url + "result/").status_code == 404
    assert (
        client_for(world.manager)
        .get(reverse("integrations:partners_import_preview", args=["00000000-0000-4000-8000-000000000000"]))
        .status_code
        == 404
    )
    assert partner_count() == 2


@pytest.mark.parametrize("role", ["a_admin", "a_rep", "b_admin"])
def test_partner_users_get_404_everywhere(world, client_for, role):
    preview_url = upload(client_for(world.manager), *ROWS[:1])["Location"]
    client = client_for(getattr(world, role))

    assert client.get(UPLOAD).status_code == 404
    assert upload(client, *ROWS[:1]).status_code == 404
    assert client.get(preview_url).status_code == 404
    assert client.post(preview_url, {"skip_invalid": "on"}).status_code == 404
    assert client.get(preview_url + "result/").status_code == 404
    assert client.get(EXPORT).status_code == 404
    assert partner_count() == 2


@pytest.mark.parametrize("role", ["analyst", "finance"])
def test_read_only_staff_may_export_but_not_import(world, client_for, role):
    client = client_for(getattr(world, role))

    assert client.get(UPLOAD).status_code == 403
    assert upload(client, *ROWS[:1]).status_code == 403
    assert [row[0] for row in export_rows(client.get(EXPORT))] == ["external_id", "A-1", "B-1"]


def test_anonymous_users_are_sent_to_login(client):
    assert client.get(UPLOAD).status_code == 302
    assert client.get(EXPORT)["Location"].startswith(reverse("login"))


def test_export_honours_the_list_filters(world, client_for):
    make_partner(
        world.system,
        "Initech",
        type="referral",
        external_id="C-1",
        status="active",
        country="DE",
        tags=["vip"],
    )
    client = client_for(world.manager)

    response = client.get(EXPORT)
    assert response["Content-Disposition"].startswith('attachment; filename="partners-')
    assert [r[0] for r in export_rows(response)[1:]] == ["A-1", "B-1", "C-1"]
    assert [r[0] for r in export_rows(client.get(EXPORT, {"type": "referral"}))[1:]] == ["B-1", "C-1"]
    assert [r[0] for r in export_rows(client.get(EXPORT, {"status": "active"}))[1:]] == ["C-1"]
    assert [r[0] for r in export_rows(client.get(EXPORT, {"country": "de", "tag": "vip"}))[1:]] == ["C-1"]
    assert [r[0] for r in export_rows(client.get(EXPORT, {"q": "globex"}))[1:]] == ["B-1"]
    assert [r[0] for r in export_rows(client.get(EXPORT, {"sort": "-name"}))[1:]] == ["C-1", "B-1", "A-1"]
    assert export_rows(client.get(EXPORT, {"status": "churned"})) == [HEADER.split(",")]


def test_owned_only_staff_export_and_import_only_their_partners(world, client_for):
    """Two-partner isolation: a manager restricted to their own book sees only it."""
    rita = make_user(world.workspace, "rita@vendor.test", Role.MANAGER, owned_only=True)
    make_partner(world.system, "Rita's Partner", external_id="R-1", owner_email="rita@vendor.test")
    client = client_for(rita)

    assert [r[0] for r in export_rows(client.get(EXPORT))[1:]] == ["R-1"]
    assert [r[0] for r in export_rows(client.get(EXPORT, {"q": "Acme"}))[1:]] == []

    page = client.get(
        upload(client, "A-1,Taken Over,reseller,,,,,,,,", "R-1,Renamed,reseller,,,,,,,,")["Location"]
    )
    assert [str(e) for e in page.context["result"].errors] == [
        "line 2, column external_id: A partner you may not change already has this id."
    ]
    assert "Acme" not in page.content.decode()  # the other partner's data never shows
    with unscoped():
        assert Partner.objects.get(external_id="A-1").name == "Acme Resellers"
