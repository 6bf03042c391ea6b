"""Customer matching for deal-registration conflicts: corpus quality, edge cases, properties."""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openprm.deals.matching import (
    MATCH_THRESHOLD,
    Match,
    blocking_keys,
    compare,
    compare_prepared,
    customer_key,
    domain_root,
    normalize_company,
    normalize_domain,
    prepare,
    registrable_domain,
)

CORPUS = Path(__file__).with_name("matching_corpus.csv")


@dataclass(frozen=True)
class Pair:
    name_a: str
    domain_a: str
    name_b: str
    domain_b: str
    label: bool
    note: str = ""


def load_corpus() -> list[Pair]:
    with CORPUS.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["name_a", "domain_a", "name_b", "domain_b", "label", "note"]
        return [
            Pair(r["name_a"], r["domain_a"], r["name_b"], r["domain_b"], r["label"] == "1", r["note"])
            for r in reader
        ]


def run(pairs: list[Pair]) -> tuple[float, float, list[str]]:
    """(precision, recall, descriptions of the errors)."""
    tp = fp = fn = 0
    errors: list[str] = []
    for p in pairs:
        m = compare(name_a=p.name_a, domain_a=p.domain_a, name_b=p.name_b, domain_b=p.domain_b)
        if m.is_conflict and p.label:
            tp += 1
        elif m.is_conflict:
            fp += 1
            errors.append(f"FP {m.score:.3f} {p.name_a!r}/{p.domain_a!r} ~ {p.name_b!r}/{p.domain_b!r}")
        elif p.label:
            fn += 1
            errors.append(f"FN {m.score:.3f} {p.name_a!r}/{p.domain_a!r} ~ {p.name_b!r}/{p.domain_b!r}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, errors


# ------------------------------------------------------------------------ corpus


def test_corpus_shape() -> None:
    pairs = load_corpus()
    positives = sum(p.label for p in pairs)
    assert len(pairs) >= 300
    assert 0.45 <= positives / len(pairs) <= 0.65, positives / len(pairs)
    assert len({(p.name_a, p.domain_a, p.name_b, p.domain_b) for p in pairs}) == len(pairs), "duplicate rows"
    print(f"\ncorpus: {len(pairs)} pairs, {positives} matches, {len(pairs) - positives} non-matches")


def test_corpus_precision_and_recall() -> None:
    precision, recall, errors = run(load_corpus())
    message = f"corpus precision={precision:.3f} recall={recall:.3f}; errors: {errors}"
    print("\n" + message)
    assert precision >= 0.98 and recall == 1.0, message


def test_glued_words_match_their_spaced_form_without_false_positives() -> None:
    """ "AcmeLabs Boston" ~ "Acme Labs Boston" (the spaced form expands Labs/Tech, the glued one used to
    stay whole and score 0), while glued names of other companies stay apart."""
    glued = [p for p in load_corpus() if "glued" in p.note]
    assert sum(p.label for p in glued) >= 8 and sum(not p.label for p in glued) >= 8
    precision, recall, errors = run(glued)
    assert (precision, recall) == (1.0, 1.0), errors
    m = compare(name_a="AcmeLabs Boston", domain_a="", name_b="Acme Labs Boston", domain_b="")
    assert m.is_conflict and any("glued words split" in r for r in m.reasons), m
    assert blocking_keys("AcmeLabs Boston", "") & blocking_keys("Acme Labs Boston", "")


def test_reasons_explain_every_conflict() -> None:
    for p in load_corpus():
        m = compare(name_a=p.name_a, domain_a=p.domain_a, name_b=p.name_b, domain_b=p.domain_b)
        assert isinstance(m, Match)
        assert all(isinstance(r, str) and r.strip() for r in m.reasons), m
        if m.is_conflict:
            assert m.reasons, p


def test_blocking_recall_on_true_pairs() -> None:
    pairs = [p for p in load_corpus() if p.label]
    misses = [
        (p.name_a, p.name_b)
        for p in pairs
        if not blocking_keys(p.name_a, p.domain_a) & blocking_keys(p.name_b, p.domain_b)
    ]
    recall = 1 - len(misses) / len(pairs)
    message = f"blocking recall={recall:.3f} on {len(pairs)} true pairs; misses: {misses}"
    print("\n" + message)
    assert recall >= 0.99, message


def test_blocking_keys_are_few_and_short() -> None:
    for p in load_corpus():
        for name, domain in ((p.name_a, p.domain_a), (p.name_b, p.domain_b)):
            keys = blocking_keys(name, domain)
            assert 1 <= len(keys) <= 8, (name, domain, keys)
            assert all(len(k) <= 40 for k in keys), keys


def test_blocking_keys_skip_free_mail_domains() -> None:
    assert not any(k.startswith("d:gmail") for k in blocking_keys("Riverbend Pottery", "x@gmail.com"))
    assert "d:acme" in blocking_keys("Acme GmbH", "https://www.acme.de/impressum")
    assert blocking_keys("", "") == set()


def test_compare_is_fast() -> None:
    pairs = load_corpus()
    records = [prepare(p.name_a, p.domain_a) for p in pairs] + [prepare(p.name_b, p.domain_b) for p in pairs]
    start = time.perf_counter()
    n = 0
    for a in records[:120]:
        for b in records[:120]:
            compare_prepared(a, b)
            n += 1
    per_call = (time.perf_counter() - start) / n
    print(f"\ncompare_prepared: {per_call * 1e6:.1f} µs per pair over {n} pairs")
    assert per_call < 0.002


# Held-out batch 1: written after the rules were tuned on the corpus. Its first run
# (precision 0.938, recall 0.882) exposed "Keystone Foods" ~ "Keystone Goods"; the 5-letter
# typo rule was then tightened (insert/delete only), so batch 1 is no longer fully unseen.
HELD_OUT_1: list[Pair] = [
    Pair("Rheinmetall AG", "rheinmetall.com", "Rheinmetal", "", True),
    Pair("Banco Santander, S.A.", "santander.com", "Santander", "santander.co.uk", True),
    Pair("Schlumberger Limited", "slb.com", "SLB", "slb.com", True),
    Pair("Telefónica S.A.", "telefonica.com", "Telefonica", "telefonica.es", True),
    Pair("Kühne + Nagel International AG", "kuehne-nagel.com", "Kuehne and Nagel", "", True),
    Pair(
        "Greystone Capital Advisors",
        "greystonecap.com",
        "Greystone Capital Advisors LLC",
        "info@greystonecap.com",
        True,
    ),
    Pair("Tata Consultancy Services", "tcs.com", "TCS", "", True),
    Pair("McKinsey & Company", "mckinsey.com", "McKinsey and Co", "", True),
    Pair("Atlassian Pty Ltd", "atlassian.com", "Atlassian Corporation", "atlassian.com.au", True),
    Pair("Wells Fargo & Company", "wellsfargo.com", "Wells Fargo Bank N.A.", "wf.com", True),
    Pair("Eli Lilly and Company", "lilly.com", "Lilly", "", True),
    Pair("Snowflake Inc.", "snowflake.com", "Snowflake Computing", "snowflake.com", True),
    Pair("Dassault Systèmes", "3ds.com", "Dassault Systemes SE", "3ds.com", True),
    Pair("Riverstone Dental", "riverstonedental@gmail.com", "Riverstone Dental Care", "", True),
    Pair("Kiwi Bank", "kiwibank.co.nz", "Kiwibank Limited", "kiwibank.co.nz", True),
    Pair("Ørsted Wind Power A/S", "orsted.com", "Orsted Wind Power", "orsted.co.uk", True),
    Pair("Koninklijke Philips N.V.", "philips.com", "Philips", "philips.nl", True),
    Pair("Atlas Consulting", "atlasconsulting.com", "Atlas Consultants", "atlas-consultants.co.uk", False),
    Pair("Nova Chemicals", "novachem.com", "Nova Pharmaceuticals", "novapharma.com", False),
    Pair("Hudson's Bay Company", "hbc.com", "Hudson Bay Mining", "hudbayminerals.com", False),
    Pair("Pioneer Natural Resources", "pxd.com", "Pioneer Electronics", "pioneer-audiovisual.com", False),
    Pair(
        "Cornerstone Building Brands",
        "cornerstone-buildingbrands.com",
        "Cornerstone OnDemand",
        "cornerstoneondemand.com",
        False,
    ),
    Pair("Jim's Mowing", "jimsmowing@gmail.com", "Jim's Plumbing", "jimsplumbing@gmail.com", False),
    Pair("Lynx Software", "lynx.com", "Lynx Analytics", "lynxanalytics.com", False),
    Pair("Pace Logistics", "", "Page Logistics", "", False),
    Pair("Sage Group", "sage.com", "Sage Publications", "sagepub.com", False),
    Pair("Vertex Pharmaceuticals", "vrtx.com", "Vertex Inc", "vertexinc.com", False),
    Pair("Orbit Logistics", "orbitlogistics.com", "Orbital Logistics", "orbital-logistics.com", False),
    Pair("Keystone Foods", "", "Keystone Goods", "", False),
    Pair("Brightview Landscapes", "brightview.com", "Brightway Insurance", "brightway.com", False),
    Pair("Sunrise Senior Living", "sunriseseniorliving.com", "Sunrise Medical", "sunrisemedical.com", False),
    Pair("Lumen Technologies", "lumen.com", "Lumen Learning", "lumenlearning.com", False),
    Pair(
        "Beacon Health Options",
        "beaconhealthoptions.com",
        "Beacon Health System",
        "beaconhealthsystem.org",
        False,
    ),
]


# Held-out batch 2: written after that change. Its first run gave precision 1.000, recall
# 0.667; two general rules followed (domain roots with a glued descriptor such as
# "lufthansagroup" ~ "lufthansa" count as related; truncated abbreviations "Ind." ~
# "Industries" align when the names share a distinctive word).
HELD_OUT_2: list[Pair] = [
    Pair("Aktiebolaget Electrolux", "electrolux.com", "Electrolux AB", "electrolux.se", True),
    Pair("Carrefour SA", "carrefour.com", "Carrefour", "carrefour.fr", True),
    Pair("Anheuser-Busch InBev", "ab-inbev.com", "Anheuser Busch Inbev SA/NV", "ab-inbev.com", True),
    Pair("Deloitte Touche Tohmatsu", "deloitte.com", "Deloitte & Touche LLP", "deloitte.com", True),
    Pair("Mitsubishi Heavy Industries", "mhi.com", "Mitsubishi Heavy Ind.", "", True),
    Pair("Unicredit S.p.A.", "unicredit.it", "UniCredit Group", "unicreditgroup.eu", True),
    Pair("Commonwealth Bank of Australia", "commbank.com.au", "CBA", "", True),
    Pair("Infineon Technologies AG", "infineon.com", "Infineon Tech", "infineon.com", True),
    Pair("Sodexo", "sodexo.com", "Sodexho Alliance", "", True),
    Pair("Hyundai Motor Company", "hyundai.com", "Hyundai Motors", "hyundai.co.kr", True),
    Pair("Saint-Gobain", "saint-gobain.com", "Compagnie de Saint-Gobain", "saint-gobain.fr", True),
    Pair("Lufthansa", "lufthansa.com", "Deutsche Lufthansa AG", "lufthansagroup.com", True),
    Pair("Oetker Digital", "oetker-digital.com", "Oetker Digital GmbH", "", True),
    Pair("Woolworths Group", "woolworthsgroup.com.au", "Woolworths Group Limited", "", True),
    Pair("Fortescue Metals Group", "fmgl.com.au", "Fortescue Metals", "fortescue.com", True),
    Pair("Sterling Bank", "sterlingbank.com", "Sterling Bancorp", "sterlingbancorp.com", False),
    Pair("Bright Horizons", "brighthorizons.com", "Bright Health", "brighthealthgroup.com", False),
    Pair("Legacy Builders", "", "Legacy Brokers", "", False),
    Pair("Coastal Credit Union", "coastal24.com", "Coastal Community Bank", "coastalbank.com", False),
    Pair("Nordic Semiconductor", "nordicsemi.com", "Nordic Naturals", "nordicnaturals.com", False),
    Pair("Emerald Tech Ventures", "emerald.vc", "Emerald Expositions", "emeraldx.com", False),
    Pair("Orca Security", "orca.security", "Orca Bay Seafoods", "orcabayseafoods.com", False),
    Pair(
        "Max's Auto Repair", "maxautorepair@yahoo.com", "Mac's Auto Repair", "macsautorepair@yahoo.com", False
    ),
    Pair("Ridgeway Partners", "ridgewaypartners.com", "Ridgeline Partners", "ridgelinepartners.com", False),
    Pair(
        "Cambridge Associates",
        "cambridgeassociates.com",
        "Cambridge Analytica",
        "cambridgeanalytica.org",
        False,
    ),
    Pair("Arrow Electronics", "arrow.com", "Arrow International", "arrowintl.com", False),
    Pair("Helios Towers", "heliostowers.com", "Helios Energy", "helios-energy.de", False),
    Pair("Matrix Medical Network", "matrixforme.com", "Matrix Service Company", "matrixservice.com", False),
    Pair("Quest Diagnostics", "questdiagnostics.com", "Quest Software", "quest.com", False),
    Pair("Baxter International", "baxter.com", "Baxter Auto Parts", "baxterautoparts.com", False),
]


# Held-out batch 3: written after all tuning and never used for it.
HELD_OUT_3: list[Pair] = [
    Pair("Rolls-Royce Holdings plc", "rolls-royce.com", "Rolls Royce", "", True),
    Pair("Schindler Aufzüge AG", "schindler.ch", "Schindler Aufzuege", "schindler.com", True),
    Pair("Vestas Wind Systems A/S", "vestas.com", "Vestas", "vestas.dk", True),
    Pair("Petrobras", "petrobras.com.br", "Petróleo Brasileiro S.A.", "petrobras.com.br", True),
    Pair("Estée Lauder Companies", "elcompanies.com", "Estee Lauder", "esteelauder.com", True),
    Pair("Larsen & Toubro Limited", "larsentoubro.com", "L&T", "", True),
    Pair("Grainger", "grainger.com", "W.W. Grainger, Inc.", "grainger.com", True),
    Pair("Thales Group", "thalesgroup.com", "Thales SA", "thalesgroup.com", True),
    Pair("Metso Outotec", "mogroup.com", "Metso Outotec Oyj", "", True),
    Pair("Ahold Delhaize", "aholddelhaize.com", "Koninklijke Ahold Delhaize N.V.", "aholddelhaize.com", True),
    Pair("Nordea Bank Abp", "nordea.com", "Nordea", "nordea.fi", True),
    Pair("Cognizant Technology Solutions", "cognizant.com", "Cognizant", "", True),
    Pair("Standard Bank Group", "standardbank.co.za", "Standard Bank", "standardbank.com", True),
    Pair("Atos SE", "atos.net", "Atos", "atos.com", True),
    Pair("Capgemini", "capgemini.com", "Cap Gemini S.A.", "", True),
    Pair("Continental Resources", "clr.com", "Continental Tire", "continentaltire.com", False),
    Pair("Ace Hardware", "acehardware.com", "Ace Cash Express", "acecashexpress.com", False),
    Pair("Sierra Wireless", "sierrawireless.com", "Sierra Nevada Corporation", "sncorp.com", False),
    Pair("Dominion Energy", "dominionenergy.com", "Dominion Voting Systems", "dominionvoting.com", False),
    Pair("Mosaic Company", "mosaicco.com", "Mosaic Learning", "mosaiclearning.org", False),
    Pair("Blue Origin", "blueorigin.com", "Blue Orchid Spa", "blueorchidspa.com", False),
    Pair(
        "Granite Construction",
        "graniteconstruction.com",
        "Granite Telecommunications",
        "granitenet.com",
        False,
    ),
    Pair("Pacific Gas and Electric", "pge.com", "Pacific Gas Supply", "pacgassupply.com", False),
    Pair("Noble Energy", "nblenergy.com", "Noble Romans", "nobleromans.com", False),
    Pair("Crescent Dunes Solar", "", "Crescent Dental", "", False),
    Pair("Aurora Innovation", "aurora.tech", "Aurora Cannabis", "auroramj.com", False),
    Pair("Polaris Inc", "polaris.com", "Polaris Healthcare Partners", "polarishealthcare.com", False),
    Pair("Keller Williams Realty", "", "Keller Rigby Realty", "", False),
    Pair(
        "Tri-County Plumbing",
        "tricountyplumbing@gmail.com",
        "Tri-County Electric",
        "tricountyelectric@gmail.com",
        False,
    ),
    Pair("Zenith Insurance", "thezenith.com", "Zenith Bank", "zenithbank.com", False),
]


def test_held_out_precision_and_recall() -> None:
    lines = []
    batches = (
        ("batch 1", HELD_OUT_1),
        ("batch 2", HELD_OUT_2),
        ("batch 3 (unseen)", HELD_OUT_3),
        ("all", HELD_OUT_1 + HELD_OUT_2 + HELD_OUT_3),
    )
    for label, pairs in batches:
        precision, recall, errors = run(pairs)
        positives = sum(p.label for p in pairs)
        lines.append(
            f"held-out {label} ({len(pairs)} pairs, {positives} matches): "
            f"precision={precision:.3f} recall={recall:.3f}; errors: {errors}"
        )
    true_pairs = [p for p in HELD_OUT_1 + HELD_OUT_2 + HELD_OUT_3 if p.label]
    blocked = sum(
        bool(blocking_keys(p.name_a, p.domain_a) & blocking_keys(p.name_b, p.domain_b)) for p in true_pairs
    )
    lines.append(f"held-out blocking recall={blocked / len(true_pairs):.3f} on {len(true_pairs)} true pairs")
    message = "\n".join(lines)
    print("\n" + message)
    # Bar for the combined held-out set (precision, recall from the "all" batch above). The
    # rules lean towards precision: a missed conflict still surfaces through the shared
    # blocking keys for manual review, a false one blocks a partner's registration.
    # Measured at the time of writing: precision 1.000, recall 0.830 (batch 3 alone 1.000 / 0.800).
    assert precision >= 0.9 and recall >= 0.75, message


# ------------------------------------------------------------------ explanations


def test_reason_texts() -> None:
    m = compare(name_a="Acme GmbH", domain_a="acme.co.uk", name_b="ACME Inc.", domain_b="acme.com")
    assert m.is_conflict
    assert "same domain root 'acme' (acme.co.uk ~ acme.com)" in m.reasons
    assert "company names match after normalisation ('Acme GmbH' ~ 'ACME Inc.')" in m.reasons

    m = compare(name_a="Thermo Fisher Scientific", domain_a="", name_b="Thermo Fisher Scientifc", domain_b="")
    assert m.is_conflict and any(
        "similar company names" in r and "% token similarity" in r for r in m.reasons
    )

    m = compare(name_a="Acme", domain_a="eu.acme.com", name_b="Globex", domain_b="www.acme.com")
    assert m.is_conflict and m.reasons == ("same registrable domain 'acme.com' (acme.com ~ eu.acme.com)",)


def test_free_mail_is_not_evidence() -> None:
    m = compare(
        name_a="Sunrise Bakery", domain_a="a@gmail.com", name_b="Hillside Carpentry", domain_b="b@gmail.com"
    )
    assert not m.is_conflict and m.score == 0
    assert m.reasons == ("shared free-mail domain 'gmail.com' is not evidence",)
    m = compare(
        name_a="Pixel Forge",
        domain_a="pixelforge.github.io",
        name_b="Byte Works",
        domain_b="byteworks.github.io",
    )
    assert not m.is_conflict and m.score == 0
    # The same site on a hosting platform is evidence, though.
    m = compare(
        name_a="Pixel Forge",
        domain_a="pixelforge.github.io",
        name_b="PF",
        domain_b="https://pixelforge.github.io/",
    )
    assert m.is_conflict


def test_domain_mismatch_lowers_name_only_matches() -> None:
    same = compare(name_a="Summit Consulting", domain_a="", name_b="Summit Consulting LLC", domain_b="")
    different = compare(
        name_a="Summit Consulting",
        domain_a="summitconsulting.com",
        name_b="Summit Consulting LLC",
        domain_b="summit-advisors.net",
    )
    assert same.is_conflict and not different.is_conflict
    assert different.score < same.score
    assert any("different domain roots" in r for r in different.reasons)
    # A distinctive identical name survives a domain mismatch (brand vs corporate domain).
    m = compare(name_a="Volkswagen AG", domain_a="vw.de", name_b="Volkswagen", domain_b="volkswagen.com")
    assert m.is_conflict and any("different domain roots" in r for r in m.reasons)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Global Solutions", "Global Systems"),
        ("Apple", "Applied Materials"),
        ("First National Bank", "First Republic Bank"),
        ("ABC Corp", "ABD Corp"),
        ("Acme", "Acne"),
        ("Smith Consulting", "Smyth Consulting"),
        ("Amazon", "Amazon Plumbing"),
    ],
)
def test_generic_and_short_names_do_not_match(a: str, b: str) -> None:
    m = compare(name_a=a, domain_a="", name_b=b, domain_b="")
    assert not m.is_conflict, m


def test_threshold_constant() -> None:
    assert 0 < MATCH_THRESHOLD < 1
    m = compare(name_a="Initech", domain_a="", name_b="Initech", domain_b="")
    assert m.is_conflict == (m.score >= MATCH_THRESHOLD)


# ------------------------------------------------------------------ normalisation


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ACME GmbH & Co. KG", "acme"),
        ("Société Générale S.A.", "societe generale"),
        ("The Home Depot, Inc.", "home depot"),
        ("AT&T Inc.", "att"),
        ("Johnson & Johnson", "johnson johnson"),
        ("Johnson and Johnson", "johnson johnson"),
        ("J.P. Morgan Chase & Co.", "jp morgan chase"),
        ("Amazon.com, Inc.", "amazon"),
        ("Kowalski Sp. z o.o.", "kowalski"),
        ("Grupo Bimbo S.A.B. de C.V.", "group bimbo"),
        ("Pinecrest Pty. Ltd.", "pinecrest"),
        ("Halvorsen A/S", "halvorsen"),
        ("Acme L.L.C.", "acme"),
        ("Acme Corporation Limited", "acme"),
        ("McDonald's Corporation", "mcdonalds"),
        ("Ørsted A/S", "orsted"),
        ("Int'l Business Machines Corp", "international business machines"),
        ("  Acme \t  Robotics\n", "acme robotics"),
        ("Company Ltd", "company"),  # never reduced to nothing
        ("The", "the"),
        ("Y Combinator", "y combinator"),
        ("Rossi e Bianchi Srl", "rossi bianchi"),
        ("", ""),
        ("\x00", ""),
        ("!!! ---", ""),
        ("Ac\x00me Inc", "acme"),
    ],
)
def test_normalize_company(raw: str, expected: str) -> None:
    assert normalize_company(raw) == expected


def test_normalize_company_long_input() -> None:
    long_name = "Acme " * 10_000 + "Inc"
    result = normalize_company(long_name)
    assert result.startswith("acme acme") and len(result) <= 400


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("acme.com", "acme.com"),
        ("  ACME.COM  ", "acme.com"),
        ("https://user:pw@www.Acme.co.uk:8080/path?q=1#x", "acme.co.uk"),
        ("http://acme.com/", "acme.com"),
        ("John.Doe@Acme.COM", "acme.com"),
        ("mailto:sales@acme.de", "acme.de"),
        ("acme.com.", "acme.com"),
        ("www.www.acme.com", "acme.com"),
        ("www2.acme.com", "acme.com"),
        ("www.com", "www.com"),
        ("eu.acme.com", "eu.acme.com"),
        ("acme.com/contact", "acme.com"),
        ("münchen.de", "xn--mnchen-3ya.de"),
        ("xn--mnchen-3ya.de", "xn--mnchen-3ya.de"),
        ("info@müllerbau.de", "xn--mllerbau-65a.de"),
        ("例え.jp", "xn--r8jz45g.jp"),
        ("", ""),
        ("   ", ""),
        ("\x00", ""),
        ("acme\x00.com", "acme.com"),
        ("localhost", ""),
        ("192.168.0.1", ""),
        ("http://[::1]:8000/", ""),
        ("not a domain", ""),
        ("-acme.com", ""),
        ("acme..com", ""),
        ("a" * 64 + ".com", ""),
        ("x" * 5000, ""),
        ("@", ""),
    ],
)
def test_normalize_domain(raw: str, expected: str) -> None:
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("eu.acme.com", "acme"),
        ("acme.co.uk", "acme"),
        ("acme.com.au", "acme"),
        ("acme.de", "acme"),
        ("shop.acme.fr", "acme"),
        ("www.shop.acme.co.jp", "acme"),
        ("acme.com.br", "acme"),
        ("acme.co.za", "acme"),
        ("foo.acme.org.uk", "acme"),
        ("https://www.acme.com.sg/x", "acme"),
        ("sales@mail.acme.com.cn", "acme"),
        ("acme.co", "acme"),  # Colombia, not a second-level suffix
        ("pixelforge.github.io", "pixelforge"),
        ("gmail.com", "gmail"),
        ("münchen.de", "xn--mnchen-3ya"),
        ("", ""),
        ("localhost", ""),
    ],
)
def test_domain_root(raw: str, expected: str) -> None:
    assert domain_root(raw) == expected


def test_registrable_domain() -> None:
    assert registrable_domain("eu.shop.acme.co.uk") == "acme.co.uk"
    assert registrable_domain("www.acme.com") == "acme.com"
    assert registrable_domain("nope") == ""


# -------------------------------------------------------------------- properties

_WORDS = [
    "Acme", "Globex", "Global", "Solutions", "Systems", "First", "National", "Bank", "Société", "Générale",
    "Inc.", "GmbH", "& Co. KG", "S.A.", "Ltd", "The", "and", "&", "Intl", "Müller", "Apple", "Applied",
    "A", "B", "C", "Y", "e", "Group", "Holding", "Ørsted", "AT&T", "3M", "co", "Sp. z o.o.",
]  # fmt: skip
names = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(_WORDS), max_size=6).map(" ".join),
    st.lists(st.one_of(st.sampled_from(_WORDS), st.text(min_size=1, max_size=6)), max_size=5).map(" ".join),
)
_LABELS = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
hosts = st.builds(
    lambda sub, root, suffix: ".".join([*sub, root, suffix]),
    st.lists(st.sampled_from(["www", "eu", "shop", "mail"]), max_size=2),
    st.one_of(_LABELS, st.sampled_from(["acme", "globex", "gmail", "müller", "github"])),
    st.sampled_from(["com", "de", "co.uk", "com.au", "io", "github.io", "fr", "jp"]),
)
domains = st.one_of(
    st.just(""),
    hosts,
    hosts.map(lambda h: f"https://{h}/path"),
    hosts.map(lambda h: f"someone@{h}"),
    st.text(max_size=30),
)
_PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_PROPS
@given(names, domains, names, domains)
def test_compare_is_symmetric_and_bounded(name_a: str, domain_a: str, name_b: str, domain_b: str) -> None:
    ab = compare(name_a=name_a, domain_a=domain_a, name_b=name_b, domain_b=domain_b)
    ba = compare(name_a=name_b, domain_a=domain_b, name_b=name_a, domain_b=domain_a)
    assert ab.score == ba.score
    assert ab.is_conflict == ba.is_conflict
    assert 0.0 <= ab.score <= 1.0
    assert ab.is_conflict == (ab.score >= MATCH_THRESHOLD)
    assert all(r.strip() for r in ab.reasons)
    if ab.is_conflict:
        assert ab.reasons


@_PROPS
@given(names, domains)
def test_record_matches_itself(name: str, domain: str) -> None:
    if not name.strip():
        return
    m = compare(name_a=name, domain_a=domain, name_b=name, domain_b=domain)
    assert m.is_conflict, (name, domain, m)
    assert m.reasons


@_PROPS
@given(names)
def test_normalize_company_is_idempotent(name: str) -> None:
    once = normalize_company(name)
    assert normalize_company(once) == once
    assert once == once.strip() and "  " not in once


@_PROPS
@given(domains)
def test_normalize_domain_is_idempotent(value: str) -> None:
    once = normalize_domain(value)
    assert normalize_domain(once) == once
    assert once == "" or (once.isascii() and once == once.lower() and "." in once)
    root = domain_root(value)
    assert (root == "") == (once == "")


@_PROPS
@given(names, domains)
def test_blocking_keys_include_own_keys(name: str, domain: str) -> None:
    keys = blocking_keys(name, domain)
    assert keys == blocking_keys(name, domain)
    assert len(keys) <= 8


def test_customer_key_is_never_empty_for_a_named_customer() -> None:
    assert customer_key("Acme, Inc.") == customer_key("ACME Inc") == "acme"
    assert customer_key("!!!") == "!!!" and customer_key("  ?  ? ") == "? ?"
    assert customer_key("") == ""
