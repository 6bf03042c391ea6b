"""The partner REST API: CRUD, filters, pagination, input errors, isolation, permissions and audit."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from openprm.core.models import AuditEntry
from openprm.core.scoping import scope, unscoped
from openprm.partners import services
from openprm.partners.models import Agreement, Contact, Partner, Program, Tier
from openprm.testing import make_partner

API = "/api/v1"
PARTNER_KEYS = {
    "public_id",
    "external_id",
    "name",
    "legal_name",
    "type",
    "status",
    "status_changed_at",
    "country",
    "region",
    "domains",
    "website",
    "owner",
    "tags",
    "custom_fields",
    "start_date",
    "notes",
    "tiers",
    "created_at",
    "updated_at",
    "last_contact_on",
    "last_contact_at",
    "archived_at",
}


@dataclass
class Rows:
    """A contact and an agreement for each of partners A and B."""

    a_contact: Contact
    a_agreement: Agreement
    b_contact: Contact
    b_agreement: Agreement


@pytest.fixture
def rows(world: Any) -> Rows:
    made: dict[str, Any] = {}
    with scope(world.system.access_scope()):
        for key, partner in (("a", world.partner_a), ("b", world.partner_b)):
            made[f"{key}_contact"] = services.contact_create(
                actor=world.system,
                partner=partner,
                data={"name": f"{partner.name} Contact", "email": f"c@{key}.example"},
            )
            made[f"{key}_agreement"] = services.agreement_create(
                actor=world.system,
                partner=partner,
                data={
                    "title": f"{partner.name} MSA",
                    "status": "active",
                    "start_date": datetime.date(2024, 1, 1),
                    "end_date": timezone.localdate() + datetime.timedelta(days=10),
                },
            )
    return Rows(**made)


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(API + url, data=body, content_type="application/json")


def patch(client: Client, url: str, body: Any) -> Any:
    return client.patch(API + url, data=body, content_type="application/json")


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["items"]]


def audit(object_id: Any, action: str) -> list[AuditEntry]:
    with unscoped():
        return list(AuditEntry.objects.filter(object_id=object_id, action=action))


# --- partners: CRUD -------------------------------------------------------------------------------------


def test_partner_crud_round_trip(world: Any, api_for: Any) -> None:
    api = api_for(world.manager)
    created = post(
        api,
        "/partners",
        {
            "name": "  Initech  ",
            "type": "technology",
            "external_id": "I-9",
            "legal_name": "Initech GmbH",
            "status": "onboarding",
            "country": "de",
            "region": "DACH",
            "domains": ["https://www.Initech.example/x"],
            "website": "initech.example",
            "owner_email": "manager@vendor.test",
            "tags": ["Cloud", "cloud", "EU"],
            "start_date": "2025-02-01",
            "notes": "Met at a fair",
            "tiers": [{"program": "Partner Program", "tier": "Gold"}],
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert set(body) == PARTNER_KEYS
    assert body["name"] == "Initech"
    assert body["type"] == "technology"
    assert body["status"] == "onboarding"
    assert body["country"] == "DE"
    assert body["domains"] == ["initech.example"]
    assert body["website"] == "https://initech.example"
    assert body["owner"] == "manager@vendor.test"
    assert body["tags"] == ["Cloud", "EU"]
    assert body["tiers"] == [{"program": "Partner Program", "tier": "Gold"}]
    assert body["start_date"] == "2025-02-01"
    assert body["last_contact_at"] is None
    url = f"/partners/{body['public_id']}"

    fetched = api.get(API + url)
    assert fetched.status_code == 200
    assert fetched.json() == body

    changed = patch(
        api,
        url,
        {
            "status": "active",
            "tiers": [{"program": "Partner Program", "tier": "Platinum"}],
            "owner_email": None,
            "start_date": None,
        },
    )
    assert changed.status_code == 200, changed.content
    after = changed.json()
    assert after["status"] == "active"
    assert after["status_changed_at"] > body["status_changed_at"]
    assert after["tiers"] == [{"program": "Partner Program", "tier": "Platinum"}]
    assert after["owner"] is None
    assert after["start_date"] is None
    assert after["name"] == "Initech"  # keys left out are left alone

    admin = api_for(world.admin)
    removed = admin.delete(API + url)  # it has history (the change above): archived, not deleted
    assert removed.status_code == 200 and removed.json()["state"] == "archived"
    archived = admin.get(API + url)
    assert archived.status_code == 200 and archived.json()["archived_at"] == removed.json()["archived_at"]


def test_partner_create_minimal_enrols_in_the_default_program(world: Any, api_for: Any) -> None:
    response = post(api_for(world.admin), "/partners", {"name": "Tiny", "type": "affiliate"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "applicant"
    assert body["tiers"] == [{"program": "Partner Program", "tier": None}]
    assert body["external_id"] is None


def test_duplicate_external_id_is_a_422_on_that_field(world: Any, api_for: Any) -> None:
    response = post(
        api_for(world.admin), "/partners", {"name": "Copy", "type": "reseller", "external_id": "A-1"}
    )
    assert response.status_code == 422
    assert response.json()["field"] == "external_id"


def test_custom_fields_are_typed_by_their_definitions(world: Any, api_for: Any) -> None:
    from openprm.partners.models import CustomFieldDefinition

    with unscoped():
        for key, kind, choices in [
            ("size", "number", []),
            ("since", "date", []),
            ("vip", "boolean", []),
            ("segment", "choice", ["smb", "enterprise"]),
            ("note", "text", []),
        ]:
            CustomFieldDefinition.objects.create(
                workspace=world.workspace, key=key, label=key.title(), field_type=kind, choices=choices
            )
    api = api_for(world.manager)
    values = {"size": 12.5, "since": "2024-01-31", "vip": "yes", "segment": "smb", "note": "Loud"}
    created = post(api, "/partners", {"name": "Typed", "type": "reseller", "custom_fields": values})
    assert created.status_code == 201, created.content
    assert created.json()["custom_fields"] == {
        "size": "12.5",
        "since": "2024-01-31",
        "vip": True,
        "segment": "smb",
        "note": "Loud",
    }
    url = f"/partners/{created.json()['public_id']}"
    for key, bad in [
        ("size", "many"),
        ("since", "soon"),
        ("vip", "perhaps"),
        ("segment", "huge"),
        ("note", [1]),
    ]:
        response = patch(api, url, {"custom_fields": {key: bad}})
        assert response.status_code == 422, (key, response.content)
        assert response.json()["field"].startswith(f"custom_fields.{key}")


# --- partners: filters and pagination --------------------------------------------------------------------


@pytest.fixture
def catalogue(world: Any) -> dict[str, Partner]:
    """Partners A and B plus three more with varied attributes."""
    system = world.system
    made = {
        "c": make_partner(
            system,
            "Cobalt Agency",
            type="agency",
            status="active",
            country="FR",
            region="EMEA",
            tags=["priority"],
            owner_email="manager@vendor.test",
            domains=["cobalt.example"],
            tiers={"Partner Program": "Platinum"},
        ),
        "d": make_partner(
            system, "Delta Distribution", type="distributor", status="churned", country="DE", region="emea"
        ),
        "e": make_partner(
            system, "Echo Affiliates", type="affiliate", status="active", country="US", external_id="ECHO-7"
        ),
    }
    with scope(system.access_scope()):
        services.agreement_create(
            actor=system,
            partner=made["e"],
            data={"title": "Old", "status": "active", "end_date": datetime.date(2020, 1, 1)},
        )
    return made


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "",
            ["Acme Resellers", "Cobalt Agency", "Delta Distribution", "Echo Affiliates", "Globex Referrals"],
        ),
        ("q=co", ["Cobalt Agency"]),
        ("q=ECHO-7", ["Echo Affiliates"]),
        ("q=globex.example", ["Globex Referrals"]),
        ("type=agency", ["Cobalt Agency"]),
        ("status=active", ["Cobalt Agency", "Echo Affiliates"]),
        ("country=de", ["Acme Resellers", "Delta Distribution"]),
        ("region=EMEA", ["Cobalt Agency", "Delta Distribution"]),
        ("tag=priority", ["Cobalt Agency"]),
        ("owner=none&status=active", ["Echo Affiliates"]),
        ("contract=expired", ["Echo Affiliates"]),
        ("contract=none&type=agency", ["Cobalt Agency"]),
        ("sort=-name&status=active", ["Echo Affiliates", "Cobalt Agency"]),
        ("status=active&type=agency", ["Cobalt Agency"]),
        ("q=nothing-matches", []),
    ],
)
def test_partner_filters(world: Any, catalogue: Any, api_for: Any, query: str, expected: list[str]) -> None:
    assert names(api_for(world.analyst).get(f"{API}/partners?{query}")) == expected


def test_partner_filters_by_owner_and_program_tier_ids(world: Any, catalogue: Any, api_for: Any) -> None:
    api = api_for(world.manager)
    assert names(api.get(f"{API}/partners?owner=me")) == ["Cobalt Agency"]
    assert names(api.get(f"{API}/partners?owner={world.manager.public_id}")) == ["Cobalt Agency"]
    assert names(api.get(f"{API}/partners?owner={uuid.uuid4()}")) == []
    with unscoped():
        program = Program.objects.get(name="Partner Program")
        gold = Tier.objects.get(program=program, name="Gold")
    assert names(api.get(f"{API}/partners?tier={gold.public_id}")) == ["Globex Referrals"]
    assert len(names(api.get(f"{API}/partners?program={program.public_id}"))) == 5


def test_partner_pagination(world: Any, catalogue: Any, api_for: Any) -> None:
    api = api_for(world.admin)
    first = api.get(f"{API}/partners?limit=2").json()
    second = api.get(f"{API}/partners?limit=2&offset=2").json()
    last = api.get(f"{API}/partners?limit=2&offset=4").json()
    assert first["count"] == second["count"] == last["count"] == 5
    seen = [p["name"] for page in (first, second, last) for p in page["items"]]
    assert seen == sorted(seen) and len(set(seen)) == 5
    assert api.get(f"{API}/partners?limit=500").status_code == 200
    too_many = api.get(f"{API}/partners?limit=501")
    assert too_many.status_code == 422
    assert too_many.json()["field"] == "limit"


def test_partner_list_query_count_does_not_grow_with_rows(
    world: Any, api_for: Any, django_assert_max_num_queries: Any
) -> None:
    api = api_for(world.analyst)
    for i in range(12):
        make_partner(
            world.system,
            f"Bulk {i:02}",
            tags=["bulk", f"t{i}"],
            tiers={"Partner Program": "Gold"},
            owner_email="manager@vendor.test",
        )
    with django_assert_max_num_queries(10):
        response = api.get(f"{API}/partners?limit=50")
    assert response.json()["count"] == 14


# --- contacts, agreements: CRUD ------------------------------------------------------------


def test_contact_crud(world: Any, rows: Rows, api_for: Any) -> None:
    api = api_for(world.manager)
    base = f"/partners/{world.partner_a.public_id}/contacts"
    created = post(
        api, base, {"name": "Pat Lee", "email": "PAT@acme.example", "role": "sales", "is_primary": True}
    )
    assert created.status_code == 201, created.content
    contact = created.json()
    assert contact["email"] == "pat@acme.example"
    assert contact["partner"] == str(world.partner_a.public_id)
    listed = api.get(API + base).json()
    assert listed["count"] == 2
    assert listed["items"][0]["public_id"] == contact["public_id"]  # primary first
    url = f"/contacts/{contact['public_id']}"
    assert api.get(API + url).json() == contact
    changed = patch(api, url, {"title": "VP Sales", "role": "executive"})
    assert changed.status_code == 200
    assert (changed.json()["title"], changed.json()["role"], changed.json()["name"]) == (
        "VP Sales",
        "executive",
        "Pat Lee",
    )
    assert api.delete(API + url).status_code == 204
    assert api.get(API + url).status_code == 404


def test_agreement_crud_with_effective_status(world: Any, rows: Rows, api_for: Any) -> None:
    api = api_for(world.manager)
    base = f"/partners/{world.partner_a.public_id}/agreements"
    end = timezone.localdate() + datetime.timedelta(days=20)
    created = post(
        api,
        base,
        {
            "title": "Reseller terms",
            "kind": "reseller",
            "status": "active",
            "start_date": "2024-01-01",
            "end_date": end.isoformat(),
        },
    )
    assert created.status_code == 201, created.content
    agreement = created.json()
    assert agreement["status"] == "active"
    assert agreement["effective_status"] == "expiring"
    assert agreement["days_left"] == 20
    assert agreement["file_name"] is None
    assert api.get(API + base).json()["count"] == 2
    url = f"/agreements/{agreement['public_id']}"
    assert api.get(API + url).json() == agreement
    past = patch(api, url, {"end_date": "2024-06-30"})
    assert past.status_code == 200
    assert past.json()["effective_status"] == "expired"
    assert past.json()["days_left"] < 0
    backwards = patch(api, url, {"end_date": "2023-01-01"})
    assert backwards.status_code == 422
    assert backwards.json()["field"] == "end_date"
    assert api.delete(API + url).status_code == 204
    assert api.get(API + url).status_code == 404


# --- me ---------------------------------------------------------------------------------------------------


def test_me(world: Any, api_for: Any, client_for: Any) -> None:
    staff = api_for(world.finance).get(f"{API}/me").json()
    assert staff == {"email": "finance@vendor.test", "name": "Finance", "role": "finance", "partner": None}
    partner_user = api_for(world.a_rep).get(f"{API}/me").json()
    assert partner_user["role"] == "partner_rep"
    assert partner_user["partner"] == str(world.partner_a.public_id)
    session = client_for(world.b_admin).get(f"{API}/me").json()
    assert session["partner"] == str(world.partner_b.public_id)


# --- validation errors specific to the partner database --------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/partners", {"type": "reseller"}, "name"),
        ("/partners", {"name": "", "type": "reseller"}, "name"),
        ("/partners", {"name": "X" * 201, "type": "reseller"}, "name"),
        ("/partners", {"name": "X", "type": "spaceship"}, "type"),
        ("/partners", {"name": "X", "type": "reseller", "status": "sleeping"}, "status"),
        ("/partners", {"name": "X", "type": "reseller", "country": "Atlantis"}, "country"),
        ("/partners", {"name": "X", "type": "reseller", "domains": ["not a domain"]}, "domains"),
        ("/partners", {"name": "X", "type": "reseller", "domains": "acme.example"}, "domains"),
        ("/partners", {"name": "X", "type": "reseller", "website": "http://"}, "website"),
        ("/partners", {"name": "X", "type": "reseller", "owner_email": "nobody@vendor.test"}, "owner_email"),
        ("/partners", {"name": "X", "type": "reseller", "owner_email": "admin@acme.test"}, "owner_email"),
        ("/partners", {"name": "X", "type": "reseller", "start_date": "2025-13-01"}, "start_date"),
        ("/partners", {"name": "X", "type": "reseller", "start_date": 20250101}, "start_date"),
        ("/partners", {"name": "X", "type": "reseller", "tags": ["t"] * 51}, "tags"),
        ("/partners", {"name": "X", "type": "reseller", "tags": ["x" * 61]}, "tags.0"),
        ("/partners", {"name": "X", "type": "reseller", "custom_fields": {"nope": 1}}, "custom_fields.nope"),
        ("/partners", {"name": "X", "type": "reseller", "tiers": [{"program": "Nope"}]}, "program"),
        (
            "/partners",
            {"name": "X", "type": "reseller", "tiers": [{"program": "Partner Program", "tier": "Tin"}]},
            "tier",
        ),
        ("/partners", {"name": "X", "type": "reseller", "notes": "n" * 20001}, "notes"),
        ("/partners", {"name": "X", "type": "reseller", "legal_name": ["list"]}, "legal_name"),
        ("/partners", {"name": "X", "type": "reseller", "owner": "manager@vendor.test"}, "owner"),
        ("/partners/{a}", {"name": None}, "name"),
        ("/partners/{a}", {"tags": None}, "tags"),
        ("/partners/{a}", {"status": 3}, "status"),
        ("/partners/{a}/contacts", {"name": "X", "email": "not-an-email"}, "email"),
        ("/partners/{a}/contacts", {"name": "X", "role": "boss"}, "role"),
        ("/partners/{a}/contacts", {"name": "X", "is_primary": "maybe"}, "is_primary"),
        ("/partners/{a}/contacts", {"name": "X", "phone": "1" * 41}, "phone"),
        ("/partners/{a}/agreements", {"title": "X", "kind": "handshake"}, "kind"),
        ("/partners/{a}/agreements", {"title": "X", "renewal_notice_days": -1}, "renewal_notice_days"),
        ("/partners/{a}/agreements", {"title": "X", "renewal_notice_days": 10**30}, "renewal_notice_days"),
        ("/partners/{a}/agreements", {"title": "X", "end_date": "yesterday"}, "end_date"),
        (
            "/partners/{a}/agreements",
            {"title": "X", "start_date": "2025-02-01", "end_date": "2025-01-01"},
            "end_date",
        ),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    world: Any, api_for: Any, path: str, body: dict[str, Any], field: str
) -> None:
    url = path.format(a=world.partner_a.public_id)
    api = api_for(world.admin)
    response = patch(api, url, body) if url.count("/") == 2 else post(api, url, body)
    assert response.status_code == 422, response.content
    error = response.json()
    assert error["code"] == "validation_error"
    assert error["field"] == field
    assert any(e["field"] == field for e in error["errors"])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=sleeping", "status"),
        ("sort=random", "sort"),
        ("contract=maybe", "contract"),
        ("program=not-a-uuid", "program"),
        ("tier=1", "tier"),
        ("owner=someone", "owner"),
        ("q=" + "x" * 201, "q"),
        ("q=a%00b", "q"),
        ("tag=%00", "tag"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("offset=-1", "offset"),
        ("offset=99999999999999999999999", "offset"),
    ],
)
def test_bad_filter_is_a_422_naming_the_parameter(world: Any, api_for: Any, query: str, field: str) -> None:
    response = api_for(world.analyst).get(f"{API}/partners?{query}")
    assert response.status_code == 422, response.content
    assert (response.json()["code"], response.json()["field"]) == ("validation_error", field)


# --- two-partner isolation --------------------------------------------------------------------------------


def _detail_urls(world: Any, rows: Rows, side: str) -> list[str]:
    partner = world.partner_a if side == "a" else world.partner_b
    return [
        f"/partners/{partner.public_id}",
        f"/contacts/{getattr(rows, f'{side}_contact').public_id}",
        f"/agreements/{getattr(rows, f'{side}_agreement').public_id}",
    ]


def test_partner_b_user_gets_404_for_every_partner_a_id(world: Any, rows: Rows, api_for: Any) -> None:
    api = api_for(world.b_admin)
    a = world.partner_a.public_id
    writes = {
        "contacts": {"name": "Spy"},
        "agreements": {"title": "Spy"},
    }
    for url in _detail_urls(world, rows, "a"):
        for response in (
            api.get(API + url),
            patch(api, url, {"name": "Spy"} if "partners" in url else {}),
            api.delete(API + url),
        ):
            assert response.status_code == 404, (url, response.content)
            assert response.json()["code"] == "not_found"
    for kind, body in writes.items():
        for response in (api.get(f"{API}/partners/{a}/{kind}"), post(api, f"/partners/{a}/{kind}", body)):
            assert response.status_code == 404, (kind, response.content)
            assert response.json()["code"] == "not_found"
    # Their own rows are there, so the 404s above are not a blanket refusal.
    for url in _detail_urls(world, rows, "b"):
        assert api.get(API + url).status_code == 200
    with unscoped():
        assert Contact.objects.filter(name="Spy").count() == 0
        assert Partner.objects.get(pk=world.partner_a.pk).name == "Acme Resellers"


def test_missing_and_foreign_ids_answer_alike(world: Any, rows: Rows, api_for: Any) -> None:
    api = api_for(world.b_admin)
    foreign = api.get(f"{API}/contacts/{rows.a_contact.public_id}")
    missing = api.get(f"{API}/contacts/{uuid.uuid4()}")
    assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json())


def test_list_endpoints_never_include_the_other_partners_rows(world: Any, rows: Rows, api_for: Any) -> None:
    for user, own, other in ((world.b_admin, "b", "a"), (world.a_rep, "a", "b")):
        api = api_for(user)
        mine = world.partner_a if own == "a" else world.partner_b
        partners = api.get(f"{API}/partners?limit=500").json()
        assert [p["public_id"] for p in partners["items"]] == [str(mine.public_id)]
        assert partners["count"] == 1
        for kind in ("contacts", "agreements"):
            listed = api.get(f"{API}/partners/{mine.public_id}/{kind}").json()
            ids = {item["public_id"] for item in listed["items"]}
            assert ids == {str(getattr(rows, f"{own}_{kind[:-1]}").public_id)}
            assert str(getattr(rows, f"{other}_{kind[:-1]}").public_id) not in ids
        # Filters cannot reach around the scope either.
        assert api.get(f"{API}/partners?q={'Acme' if own == 'b' else 'Globex'}").json()["count"] == 0


def test_staff_restricted_to_own_book_sees_only_their_partners(world: Any, api_for: Any) -> None:
    from openprm.core.permissions import Role
    from openprm.testing import make_user

    rep = make_user(world.workspace, "owner@vendor.test", Role.MANAGER, owned_only=True)
    api = api_for(rep)
    assert api.get(f"{API}/partners").json()["count"] == 0
    assert api.get(f"{API}/partners/{world.partner_a.public_id}").status_code == 404
    created = post(api, "/partners", {"name": "Mine", "type": "reseller"})
    assert created.status_code == 201
    assert created.json()["owner"] == "owner@vendor.test"
    assert names(api.get(f"{API}/partners")) == ["Mine"]


# --- role x action ----------------------------------------------------------------------------------------

WRITES = {
    "partner_create": ("post", "/partners", {"name": "New", "type": "reseller"}),
    "partner_update": ("patch", "/partners/{partner}", {"notes": "edited"}),
    "partner_delete": ("delete", "/partners/{partner}", None),
    "contact_create": ("post", "/partners/{partner}/contacts", {"name": "New"}),
    "contact_update": ("patch", "/contacts/{contact}", {"title": "edited"}),
    "contact_delete": ("delete", "/contacts/{contact}", None),
    "agreement_create": ("post", "/partners/{partner}/agreements", {"title": "New"}),
    "agreement_update": ("patch", "/agreements/{agreement}", {"title": "edited"}),
    "agreement_delete": ("delete", "/agreements/{agreement}", None),
}
ALL = set(WRITES)
EDIT = ALL - {"partner_delete"}
CONTACTS = {"contact_create", "contact_update", "contact_delete"}
ALLOWED = {
    "admin": ALL,
    "manager": EDIT,
    "finance": set(),
    "analyst": set(),
    "a_admin": CONTACTS,
    "a_rep": set(),
}


@pytest.mark.parametrize("action", sorted(WRITES))
@pytest.mark.parametrize("who", sorted(ALLOWED))
def test_role_may_write_only_what_it_is_allowed(
    world: Any, rows: Rows, api_for: Any, who: str, action: str
) -> None:
    method, path, body = WRITES[action]
    url = API + path.format(
        partner=world.partner_a.public_id,
        contact=rows.a_contact.public_id,
        agreement=rows.a_agreement.public_id,
    )
    api = api_for(getattr(world, who))
    if method == "delete":
        response = api.delete(url)
    else:
        response = getattr(api, method)(url, data=body, content_type="application/json")
    if action in ALLOWED[who]:
        assert response.status_code in (200, 201, 204), response.content
    else:
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "forbidden"


def test_partner_manager_role_may_edit_own_contacts(world: Any, rows: Rows, api_for: Any) -> None:
    from openprm.core.permissions import Role
    from openprm.testing import make_user

    api = api_for(make_user(world.workspace, "pm@acme.test", Role.PARTNER_MANAGER, partner=world.partner_a))
    assert patch(api, f"/contacts/{rows.a_contact.public_id}", {"phone": "+49 30 1234"}).status_code == 200
    assert (
        post(api, f"/partners/{world.partner_a.public_id}/contacts", {"name": "Colleague"}).status_code == 201
    )
    assert patch(api, f"/partners/{world.partner_a.public_id}", {"notes": "x"}).status_code == 403


def test_every_role_may_read(world: Any, rows: Rows, api_for: Any) -> None:
    for who in ("admin", "manager", "finance", "analyst", "a_admin", "a_rep"):
        api = api_for(getattr(world, who))
        for url in _detail_urls(world, rows, "a"):
            assert api.get(API + url).status_code == 200, (who, url)


# --- audit ------------------------------------------------------------------------------------------------


def test_api_writes_are_audited_with_the_actor(world: Any, rows: Rows, api_for: Any) -> None:
    api = api_for(world.manager)
    created = post(api, "/partners", {"name": "Audited", "type": "reseller"}).json()
    patch(
        api,
        f"/partners/{created['public_id']}",
        {"status": "active", "tiers": [{"program": "Partner Program", "tier": "Gold"}]},
    )
    contact = post(api, f"/partners/{created['public_id']}/contacts", {"name": "Ann"}).json()
    api.delete(f"{API}/contacts/{contact['public_id']}")
    patch(api, f"/agreements/{rows.a_agreement.public_id}", {"title": "Renamed MSA"})

    [create] = audit(created["public_id"], "create")
    assert create.actor_label == "manager@vendor.test"
    assert create.changes["name"]["after"] == "Audited"
    [update] = audit(created["public_id"], "update")
    assert update.changes["status"] == {"before": "applicant", "after": "active"}
    assert update.changes["tiers"] == {
        "before": {"Partner Program": None},
        "after": {"Partner Program": "Gold"},
    }
    assert len(audit(contact["public_id"], "create")) == len(audit(contact["public_id"], "delete")) == 1
    [renamed] = audit(rows.a_agreement.public_id, "update")
    assert renamed.changes["title"] == {"before": "Acme Resellers MSA", "after": "Renamed MSA"}
    assert renamed.partner_id == world.partner_a.pk


def test_refused_writes_leave_no_audit_entry(world: Any, rows: Rows, api_for: Any) -> None:
    patch(api_for(world.analyst), f"/partners/{world.partner_a.public_id}", {"notes": "x"})
    patch(api_for(world.b_admin), f"/contacts/{rows.a_contact.public_id}", {"name": "x"})
    post(api_for(world.admin), "/partners", {"name": "", "type": "reseller"})
    with unscoped():
        assert not AuditEntry.objects.filter(action="update").exists()
        assert AuditEntry.objects.filter(action="create", object_type="partners.partner").count() == 2


# --- authentication ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/me"),
        ("get", "/partners"),
        ("post", "/partners"),
        ("get", "/partners/{p}"),
        ("patch", "/partners/{p}"),
        ("delete", "/partners/{p}"),
        ("get", "/partners/{p}/contacts"),
        ("post", "/partners/{p}/agreements"),
        ("get", "/contacts/{p}"),
        ("delete", "/agreements/{p}"),
        ("patch", "/interactions/{p}"),
    ],
)
@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer "])
def test_unauthenticated_is_a_401_with_a_code(world: Any, method: str, path: str, header: str | None) -> None:
    client = Client(headers={"Authorization": header}) if header else Client()
    url = API + path.format(p=world.partner_a.public_id)
    if method in ("get", "delete"):
        response = getattr(client, method)(url)
    else:
        response = getattr(client, method)(url, data="{}", content_type="application/json")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_revoked_user_token_stops_working(world: Any, api_for: Any) -> None:
    api = api_for(world.analyst)
    assert api.get(f"{API}/me").status_code == 200
    with unscoped():
        world.analyst.is_active = False
        world.analyst.save()
    assert api.get(f"{API}/me").status_code == 401


def test_session_auth_reads_in_scope(world: Any, rows: Rows, client_for: Any) -> None:
    browser = client_for(world.a_rep)
    assert browser.get(f"{API}/contacts/{rows.a_contact.public_id}").status_code == 200
    assert browser.get(f"{API}/contacts/{rows.b_contact.public_id}").status_code == 404


def test_the_openapi_document_describes_a_partners_tiers_as_answered(client: Client) -> None:
    """A partner's ``tiers`` are program/tier name pairs; the program API's tiers are ranked tier records.
    Both schemas were called TierOut, so the document described a partner's tiers as the other kind."""
    schemas = client.get(f"{API}/openapi.json").json()["components"]["schemas"]
    ref = schemas["PartnerOut"]["properties"]["tiers"]["items"]["$ref"]
    enrolment = schemas[ref.rsplit("/", 1)[-1]]
    assert set(enrolment["properties"]) == {"program", "tier"}
    program_tiers = schemas["ProgramOut"]["properties"]["tiers"]["items"]["$ref"]
    assert set(schemas[program_tiers.rsplit("/", 1)[-1]]["properties"]) == {"public_id", "name", "rank"}
