"""A partner's domains are normalised by the one domain normaliser (core.domains), so the domain stored for
a partner is exactly what conflict matching computes for the same input."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from openprm.core.domains import normalize_domain
from openprm.core.scoping import scope, unscoped
from openprm.deals import matching
from openprm.integrations.services.partners import partners_import
from openprm.integrations.tests.helpers import HEADER, csv_file
from openprm.partners.models import Partner
from openprm.partners.services import partner_create, partner_update

pytestmark = pytest.mark.django_db

SAME_HOST = [
    ("https://www.Acme-Domains.example/about/team?x=1#top", "acme-domains.example"),
    ("WWW.Acme.COM.", "acme.com"),
    ("mailto:sales@Partner.example", "partner.example"),
    ("sales@partner-mail.example", "partner-mail.example"),
    ("bücher.example", "xn--bcher-kva.example"),
    ("www1.shop.example", "shop.example"),
    ("shop.example:8443", "shop.example"),
]
NO_HOST = ["192.168.10.20", "http://[2001:db8::1]/", "localhost", "https://", "exa mple..com"]


def create(world: Any, domains: list[str], name: str = "Domain Partner") -> Partner:
    with scope(world.system.access_scope()):
        return partner_create(actor=world.system, data={"name": name, "type": "reseller", "domains": domains})


@pytest.mark.parametrize(("raw", "host"), SAME_HOST)
def test_partner_domains_are_what_matching_computes(world: Any, raw: str, host: str) -> None:
    partner = create(world, [raw])
    assert normalize_domain(raw) == matching.normalize_domain(raw) == host
    assert partner.domains == [host] and partner.primary_domain == host


def test_equal_hosts_are_stored_once_and_blanks_are_skipped(world: Any) -> None:
    partner = create(world, ["  ", "https://acme.com/", "WWW.ACME.COM", "mailto:x@acme.com", "acme.de"])
    assert partner.domains == ["acme.com", "acme.de"]


@pytest.mark.parametrize("raw", NO_HOST)
def test_input_without_a_host_is_an_error_naming_the_field(world: Any, raw: str) -> None:
    assert normalize_domain(raw) == ""
    with pytest.raises(ValidationError) as caught:
        create(world, ["acme.com", raw])
    assert caught.value.message_dict == {"domains": [f"'{raw}' is not a valid domain name."]}


def test_a_nul_character_is_refused_not_dropped(world: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        create(world, ["ac\x00me.com"])
    assert list(caught.value.message_dict) == ["domains"]


def test_update_normalises_the_same_way(world: Any) -> None:
    partner = create(world, ["acme.com"])
    with scope(world.system.access_scope()):
        partner_update(actor=world.system, partner=partner, data={"domains": ["WWW.Bücher.example."]})
    assert partner.domains == ["xn--bcher-kva.example"]


def test_the_csv_import_normalises_through_the_same_rule(world: Any, tmp_path: Any) -> None:
    raws = [raw for raw, _ in SAME_HOST if ";" not in raw and "," not in raw]
    rows = [f"D-{i},Imported {i},reseller,,active,FR,,,{raw},," for i, raw in enumerate(raws)]
    path = csv_file(tmp_path, *rows, header=HEADER)
    with scope(world.system.access_scope()):
        result = partners_import(actor=world.system, stream=path.open("rb"))
    assert not result.errors, result.errors
    with unscoped():
        stored = dict(
            Partner.objects.filter(external_id__startswith="D-").values_list("external_id", "domains")
        )
    assert stored == {f"D-{i}": [normalize_domain(raw)] for i, raw in enumerate(raws)}

    bad = csv_file(tmp_path, "D-99,Bad,reseller,,active,FR,,,192.168.10.20,,", header=HEADER, name="bad.csv")
    with scope(world.system.access_scope()):
        result = partners_import(actor=world.system, stream=bad.open("rb"))
    assert [(e.column, e.message) for e in result.errors] == [
        ("domain", "'192.168.10.20' is not a valid domain name.")
    ]
