"""Explainable customer matching for deal-registration conflict detection.

Pure Python (no Django, no database, no network). Two customer records - a company
name plus a domain, URL or e-mail address - are compared and the result explains
itself::

    >>> m = compare(name_a="ACME GmbH", domain_a="www.acme.de", name_b="Acme, Inc.", domain_b="acme.com")
    >>> m.is_conflict, m.reasons[0]
    (True, "same domain root 'acme' (acme.com ~ acme.de)")

Signals, combined with a noisy-or (independent evidence adds up, never past 1):

* domains: identical / same registrable domain (``eu.acme.com`` ~ ``www.acme.com``) is
  strong evidence; the same root under another public suffix (``acme.de`` ~
  ``acme.co.uk``) or with a glued descriptor (``lufthansagroup.com``) is medium evidence.
  Sharing a free-mail provider or hosting platform (``gmail.com``, ``github.io`` ...) is
  never evidence; the very same site on a platform (``acme.github.io``) is.
* names: equality after normalisation (case, accents, punctuation, "&"/"and", legal
  suffixes, common abbreviations); the same words in another order or with a one-letter
  typo in a long word; one name extending the other with generic words ("Group",
  "Holdings"); acronyms ("IBM" ~ "International Business Machines"); a domain root
  spelling the other side's name. Fuzzy scores come from :mod:`rapidfuzz`; short and
  generic names never match on similarity alone.
* a mismatch between two different, non-generic domain roots lowers a name-only match,
  strongly when the name is generic ("Summit Consulting") and mildly when distinctive.

Use :func:`prepare` once per record and :func:`compare_prepared` for many comparisons;
:func:`blocking_keys` gives the short strings to fetch candidates from an index.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from openprm.core.domains import normalize_domain

__all__ = [
    "MATCH_THRESHOLD",
    "Match",
    "PreparedRecord",
    "blocking_keys",
    "compare",
    "compare_prepared",
    "customer_key",
    "domain_root",
    "normalize_company",
    "normalize_domain",
    "prepare",
    "registrable_domain",
]

MATCH_THRESHOLD = 0.75
"""``Match.is_conflict`` is ``score >= MATCH_THRESHOLD``."""

# Evidence weights (each is the score a signal gives on its own).
_W_SAME_DOMAIN = 0.92  # identical host or same registrable domain
_W_SAME_HOSTED_SITE = 0.80  # identical site on a hosting platform (acme.github.io)
_W_SAME_ROOT = 0.65  # same root, other public suffix (acme.de ~ acme.com)
_W_SAME_ROOT_WEAK = 0.50  # ... when the root is short or a dictionary word
_W_NAME_EXACT = 0.95
_W_NAME_EXACT_GENERIC = 0.85  # equal, but only generic words / very short
_W_NAME_TYPO = 0.88  # same words, a one-letter typo in a long word
_W_NAME_COMPACT_TYPO = 0.80  # differently split words plus a one-letter typo
_W_NAME_EXTENDED = 0.85  # "Acme" ~ "Acme Group Holdings"
_W_NAME_CONTAINED = 0.50  # "Acme" ~ "Acme Robotics" (needs other evidence)
_W_ACRONYM = 0.55  # "IBM" ~ "International Business Machines"
_W_ROOT_IS_NAME = 0.50  # domain root 'ibm' spells the other side's name
# Multipliers when both sides have different, unrelated, non-generic domain roots.
_PENALTY_DISTINCTIVE = 0.85
_PENALTY_GENERIC = 0.65

_MAX_NAME_CHARS = 300
_MAX_INPUT_CHARS = 2048

# --------------------------------------------------------------------------- names


def _words(text: str) -> frozenset[str]:
    """Whitespace-separated words of an embedded list."""
    return frozenset(text.split())


def _phrases(text: str) -> frozenset[tuple[str, ...]]:
    """Comma-separated phrases of an embedded list, each as a tuple of words."""
    return frozenset(tuple(phrase.split()) for phrase in text.split(",") if phrase.strip())


_LEGAL_SUFFIXES: frozenset[tuple[str, ...]] = _phrases(
    # English-speaking
    "inc, incorporated, corp, corporation, co, cos, company, ltd, limited, llc, llp, lllp, lp, plc, pllc,"
    " pc, na, pty, pty ltd, pte, pte ltd, ulc,"
    # German-speaking
    " gmbh, gmbh co, gmbh co kg, gmbh co kgaa, ag co kg, se co kg, kg, kgaa, ag, se, ug,"
    " ug haftungsbeschrankt, mbh, ohg, gbr, ev,"
    # Romance languages
    " sa, sas, sasu, sarl, eurl, sca, scs, srl, srls, spa, sapa, sl, slu, sau, lda, ltda, sa de cv,"
    " sab de cv, sapi de cv, s de rl, s de rl de cv, eireli,"
    # Benelux / Nordics
    " bv, nv, bvba, sprl, cv, vof, oy, oyj, ab, publ, ab publ, as, asa, aps, ehf, hf,"
    # Central / Eastern Europe
    " sp zoo, spolka zoo, sro, doo, dd, ad, kft, zrt, nyrt, bt, ooo, oao, zao, pao, jsc, pjsc,"
    # Asia-Pacific
    " kk, kabushiki kaisha, yk, sdn bhd, bhd, tbk, pvt ltd, private limited"
)
_MAX_SUFFIX_TOKENS = max(len(s) for s in _LEGAL_SUFFIXES)

# Abbreviations mapped to one canonical spelling (applied per token).
_CANONICAL_TOKENS: dict[str, str] = {
    "intl": "international",
    "internat": "international",
    "natl": "national",
    "mfg": "manufacturing",
    "mfrs": "manufacturers",
    "svc": "services",
    "svcs": "services",
    "srvcs": "services",
    "service": "services",
    "sys": "systems",
    "syst": "systems",
    "tech": "technologies",
    "technology": "technologies",
    "lab": "laboratories",
    "labs": "laboratories",
    "laboratory": "laboratories",
    "grp": "group",
    "grupo": "group",
    "groupe": "group",
    "gruppe": "group",
    "gruppo": "group",
    "hldg": "holdings",
    "hldgs": "holdings",
    "holding": "holdings",
    "mgmt": "management",
    "mgt": "management",
    "bros": "brothers",
    "ctr": "center",
    "cntr": "center",
    "centre": "center",
    "univ": "university",
    "assn": "association",
    "solns": "solutions",
    "comms": "communications",
    "mktg": "marketing",
    "pharmaceutical": "pharmaceuticals",
    "pharma": "pharmaceuticals",
    "intern": "international",
    "engg": "engineering",
    "dept": "department",
    "1st": "first",
    "2nd": "second",
    "3rd": "third",
}

# Glued words ("AcmeLabs", "NovaTech"): a token ending in one of these spellings, after a brand of at
# least 4 letters, is compared split ("acme laboratories"), the way the spaced form is normalised.
_GLUE_SPELLINGS: dict[str, str] = {
    spelling: canonical
    for abbreviation, canonical in _CANONICAL_TOKENS.items()
    for spelling in (abbreviation, canonical)
    if len(spelling) >= 3 and spelling.isalpha()
}
_GLUE_MIN_BRAND = 4

# Words that carry little identity: industry words, stock business-name words, places.
# A name made only of these (plus very short tokens) is "generic".
_GENERIC_WORDS: frozenset[str] = _words(
    """
    accounting advanced advisors advisory aerospace agency air airlines airways alliance allied alpha
    america american americas analytics apex applied architects art associates association atlantic
    atlas auto automation automotive bakery bank banking bay beta bio biotech blue bridge brothers
    building business cafe capital care cars center central chemical chemicals city clean cleaning
    clear clinic cloud coastal college commerce commercial communications community companies computer
    computing concepts construction consultants consulting core corporate county creative crest
    crystal data delta dental design designs development diamond digital direct distribution dynamics
    eagle east eastern education electric electrical electronics elite energy engineering enterprise
    enterprises environmental equity estate europe express family farm farms fashion federal finance
    financial first fitness food foods frontier fund funds fusion gas general global gold golden green
    group growth harbor health healthcare heritage holdings home homes horizon hospital hotel hotels
    hr industrial industries info innovation innovations insight instruments insurance integrated
    international investment investments laboratories land landscaping law learning legacy legal liberty
    life lines logistics machines management manufacturing marine market marketing markets materials matrix
    media medical metro micro mobile modern motor motors mountain mutual national net network networks
    new next nexus north northern oil omega one online pacific partners peak pharmaceuticals phoenix
    pinnacle pioneer plumbing plus power precision premier prime pro products professional properties
    property quality quantum real realty recruiting red republic research resources restaurant retail
    river roofing royal safety savings school science sciences second security services shipping sigma
    silver smart software solar solutions south southern staffing standard star state steel strategic
    strategies studio studios summit sun superior supply support synergy systems tax technologies
    telecom third titan total trade trading transport travel trust union united universal university
    valley ventures vertex vision vista water web west western wireless works world worldwide zenith
    """
)

# Extra words that may be added or dropped for the *same* company ("Acme" ~ "Acme Group").
_DROPPABLE_WORDS: frozenset[str] = _words(
    """
    group holdings international global worldwide enterprises industries companies corporate usa us uk
    americas america europe emea apac asia deutschland germany france italia italy espana spain canada
    australia japan india china brasil brazil mexico nederland netherlands benelux nordic nordics
    schweiz suisse switzerland austria osterreich iberia ireland
    """
)

_STOPWORDS: frozenset[str] = frozenset(
    {"the", "of", "for", "de", "du", "des", "la", "le", "les", "der", "die"}
)

# "and" in other languages; dropped only *between* two words ("Rossi e Bianchi", not "Y Combinator").
_INNER_CONJUNCTIONS: frozenset[str] = frozenset({"e", "et", "y", "und", "en", "og", "och", "i"})

_APOSTROPHES = "'\u2019\u2018`\u00b4"
_TRANSLITERATE = str.maketrans(
    {
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "ħ": "h",
    }
)
_DOT_TLD_RE = re.compile(r"(?<=\w)\.(?:com|net|org|io|co|biz)\b", re.IGNORECASE)
_AMP_IN_WORD_RE = re.compile(r"(?<=\w)[&+](?=\w)")
_NON_WORD_RE = re.compile(r"[\W_]+")


def _clean_text(text: str, limit: int) -> str:
    """Drop control characters (NUL ...) and cap the length."""
    text = text[:limit]
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\t\n")


def _fold(text: str) -> str:
    """Case-fold and strip accents (NFKD, drop combining marks)."""
    text = text.casefold().translate(_TRANSLITERATE)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.casefold().translate(_TRANSLITERATE)


def _join_initials(tokens: list[str]) -> list[str]:
    """Join runs of single letters: ``s a`` -> ``sa``, ``i b m`` -> ``ibm``."""
    out: list[str] = []
    run: list[str] = []
    for tok in [*tokens, ""]:
        if len(tok) == 1 and tok.isalpha():
            run.append(tok)
            continue
        if len(run) >= 2:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        if tok:
            out.append(tok)
    return out


def _strip_legal_suffixes(tokens: list[str]) -> list[str]:
    changed = True
    while changed and len(tokens) > 1:
        changed = False
        for size in range(min(_MAX_SUFFIX_TOKENS, len(tokens) - 1), 0, -1):
            if tuple(tokens[-size:]) in _LEGAL_SUFFIXES:
                tokens = tokens[:-size]
                changed = True
                break
    return tokens


def _normalize_once(name: str) -> str:
    text = _fold(_clean_text(name, _MAX_NAME_CHARS))
    for ch in _APOSTROPHES:
        text = text.replace(ch, "")
    text = _DOT_TLD_RE.sub(" ", text)  # "Amazon.com, Inc." -> "amazon , inc."
    text = _AMP_IN_WORD_RE.sub("", text)  # "AT&T" -> "att"
    text = text.replace("&", " and ").replace("+", " and ")
    tokens = [t for t in _NON_WORD_RE.sub(" ", text).split() if t != "and"]
    tokens = [t for i, t in enumerate(tokens) if not (t in _INNER_CONJUNCTIONS and 0 < i < len(tokens) - 1)]
    tokens = _join_initials(tokens)
    tokens = [_CANONICAL_TOKENS.get(t, t) for t in tokens]
    tokens = _strip_legal_suffixes(tokens)
    if len(tokens) > 1 and tokens[0] == "the":
        tokens = tokens[1:]
        tokens = _strip_legal_suffixes(tokens)
    return " ".join(tokens)


def normalize_company(name: str) -> str:
    """Canonical form of a company name for comparison.

    Case-folds, strips accents, punctuation, "&"/"and", legal suffixes at the end
    ("GmbH & Co. KG", "S.A. de C.V.", "Pty Ltd" ...), a leading "the", and maps common
    abbreviations ("Intl" -> "international"). A name is never reduced to nothing by
    suffix stripping ("Company Ltd" -> "company"). Idempotent.
    """
    if not name:
        return ""
    result = _normalize_once(name)
    for _ in range(5):  # converge: folding can expose further suffixes/initials
        again = _normalize_once(result)
        if again == result:
            break
        result = again
    return result


def _unglue(token: str) -> tuple[str, ...]:
    """``acmelabs`` -> (``acme``, ``laboratories``); other tokens unchanged (longest spelling wins)."""
    if token in _GLUE_SPELLINGS or token in _GENERIC_WORDS:
        return (token,)
    for size in range(min(len(token) - _GLUE_MIN_BRAND, 13), 2, -1):
        canonical = _GLUE_SPELLINGS.get(token[-size:])
        if canonical is not None:
            return (token[:-size], canonical)
    return (token,)


def customer_key(name: str) -> str:
    """The key deals of one customer share: the normalised name, or the case-folded raw name when
    normalising leaves nothing ("!!!"), so that no two unrelated customers share an empty key."""
    return (normalize_company(name) or " ".join(name.casefold().split()))[:200]


# ------------------------------------------------------------------------- domains

# Multi-label public suffixes (a compact, embedded subset of the Public Suffix List).
# In addition, ``<generic second level>.<two-letter ccTLD>`` is treated as a suffix.
_MULTI_LABEL_SUFFIXES: frozenset[str] = _words(
    """
    co.uk org.uk ac.uk gov.uk ltd.uk plc.uk me.uk net.uk sch.uk nhs.uk police.uk
    com.au net.au org.au edu.au gov.au asn.au id.au
    co.nz org.nz net.nz govt.nz ac.nz
    co.jp ne.jp or.jp ac.jp go.jp ad.jp ed.jp gr.jp lg.jp
    com.br net.br org.br gov.br edu.br art.br eng.br ind.br
    com.mx org.mx gob.mx net.mx edu.mx
    co.in net.in org.in firm.in gen.in ind.in ac.in edu.in gov.in res.in
    co.za org.za net.za gov.za ac.za web.za
    com.sg edu.sg gov.sg net.sg org.sg per.sg
    com.cn net.cn org.cn gov.cn edu.cn ac.cn
    com.hk org.hk net.hk edu.hk gov.hk idv.hk
    com.tw org.tw net.tw edu.tw idv.tw
    co.kr or.kr ne.kr go.kr ac.kr re.kr
    com.ar com.co com.tr org.tr net.tr gen.tr com.pl net.pl org.pl
    co.il org.il net.il ac.il gov.il
    com.my net.my org.my com.ph com.vn co.id or.id ac.id co.th in.th ac.th
    com.pe com.ec com.uy com.ve com.bo com.py com.gt com.do com.pa com.ni com.sv com.hn
    com.sa com.eg com.qa com.kw com.bh com.om com.lb com.jo com.pk com.bd com.lk com.np
    co.at or.at gv.at ac.at
    com.ng co.ke co.tz co.ug co.zw co.bw com.gh
    gouv.fr asso.fr com.es nom.es org.es gob.es com.pt com.gr co.hu com.ua co.ua com.ru msk.ru spb.ru
    com.cy com.mt com.ee com.hr co.rs
    """
)
_CC_SECOND_LEVEL = _words(
    "co com net org gov edu ac or ne go gob gouv mil ltd plc nom sch biz info firm gen ind web"
)

# Hosting platforms: ``<site>.<platform>`` is one customer's site, but sharing the
# platform is not evidence.
_HOSTING_SUFFIXES: frozenset[str] = _words(
    """
    github.io gitlab.io herokuapp.com wixsite.com blogspot.com wordpress.com squarespace.com
    netlify.app vercel.app pages.dev web.app firebaseapp.com appspot.com azurewebsites.net
    cloudfront.net amazonaws.com myshopify.com weebly.com webflow.io carrd.co notion.site
    substack.com tumblr.com sharepoint.com onmicrosoft.com godaddysites.com business.site
    mystrikingly.com jimdofree.com jimdosite.com ghost.io readthedocs.io glitch.me fly.dev
    onrender.com repl.co bitbucket.io surge.sh square.site site123.me
    """
)

# Free-mail / ISP mail domains (registrable domains), never evidence of a customer.
_FREEMAIL_DOMAINS: frozenset[str] = _words(
    """
    gmail.com googlemail.com outlook.com hotmail.com live.com msn.com yahoo.com ymail.com
    rocketmail.com aol.com aim.com icloud.com me.com mac.com proton.me protonmail.com pm.me
    protonmail.ch gmx.com gmx.net gmx.de gmx.at gmx.ch web.de t-online.de freenet.de posteo.de
    mailbox.org mail.com email.com inbox.com mail.ru bk.ru list.ru inbox.ru yandex.com yandex.ru
    rambler.ru qq.com 163.com 126.com sina.com sohu.com yeah.net foxmail.com aliyun.com zohomail.com
    fastmail.com fastmail.fm hey.com tutanota.com tuta.io orange.fr wanadoo.fr free.fr laposte.net
    sfr.fr libero.it virgilio.it tiscali.it alice.it btinternet.com sky.com virginmedia.com
    talktalk.net comcast.net verizon.net att.net sbcglobal.net bellsouth.net cox.net charter.net
    earthlink.net optonline.net shaw.ca rogers.com sympatico.ca bigpond.com optusnet.com.au
    uol.com.br bol.com.br terra.com.br ig.com.br naver.com hanmail.net daum.net seznam.cz wp.pl
    o2.pl interia.pl onet.pl rediffmail.com bluewin.ch hushmail.com gmx.fr
    """
)
# Roots that are free-mail under any public suffix (hotmail.fr, yahoo.co.uk, ...).
_FREEMAIL_ROOTS: frozenset[str] = _words(
    "gmail googlemail hotmail outlook yahoo ymail icloud protonmail gmx yandex aol msn rediffmail "
    "hanmail live windowslive"
)

# Words glued to a brand in domain names ("lufthansagroup.com", "acmecorp.com").
_ROOT_SUFFIXES = (
    "international",
    "worldwide",
    "holdings",
    "company",
    "global",
    "group",
    "intl",
    "corp",
    "gmbh",
    "inc",
    "llc",
    "ltd",
    "plc",
    "usa",
    "grp",
    "hq",
)


def _public_suffix_length(labels: list[str]) -> tuple[int, bool]:
    """Number of labels forming the public suffix, and whether it is a hosting platform."""
    if len(labels) >= 3:
        for size in (3, 2):
            if len(labels) > size and ".".join(labels[-size:]) in _HOSTING_SUFFIXES:
                return size, True
        last_two = ".".join(labels[-2:])
        if last_two in _HOSTING_SUFFIXES:
            return 2, True
        if last_two in _MULTI_LABEL_SUFFIXES:
            return 2, False
        if len(labels[-1]) == 2 and labels[-2] in _CC_SECOND_LEVEL:
            return 2, False
    return 1, False


def _root_core(root_key: str) -> str:
    """Root without glued descriptor words: "lufthansagroup" -> "lufthansa", "theacme" -> "acme"."""
    core = root_key
    if core.startswith("the") and len(core) >= 8:
        core = core[3:]
    for suffix in _ROOT_SUFFIXES:
        if core.endswith(suffix) and len(core) - len(suffix) >= 4:
            return core[: -len(suffix)]
    return core


def registrable_domain(domain: str) -> str:
    """The registrable domain (``eu.shop.acme.co.uk`` -> ``acme.co.uk``); ``""`` if invalid."""
    host = normalize_domain(domain)
    if not host:
        return ""
    labels = host.split(".")
    size, _hosted = _public_suffix_length(labels)
    return ".".join(labels[-(size + 1) :])


def domain_root(domain: str) -> str:
    """The registrable label without its public suffix (``shop.acme.co.uk`` -> ``acme``).

    Works offline with an embedded list of common multi-label suffixes; accepts anything
    :func:`normalize_domain` accepts and returns ``""`` for invalid input.
    """
    registrable = registrable_domain(domain)
    return registrable.split(".", 1)[0] if registrable else ""


# ------------------------------------------------------------------------ prepared


@dataclass(frozen=True, slots=True)
class PreparedRecord:
    """A record normalised once, for cheap repeated comparisons."""

    name: str  # display form of the raw name (cleaned, truncated)
    norm: str  # normalize_company(name)
    tokens: tuple[str, ...]  # significant tokens (no stop words)
    core: tuple[str, ...]  # tokens without droppable words ("group", "usa" ...)
    compact: str  # norm without spaces
    raw_key: str  # case-folded raw text, used only when norm is empty
    acronym: str  # initials of the significant tokens ("" for < 2 tokens)
    distinctive: bool  # has a non-generic token of 4+ characters
    domain: str  # normalize_domain(domain)
    registrable: str  # registrable domain
    root: str  # domain_root(domain), hyphens kept
    root_key: str  # root without hyphens, for comparisons
    root_core: str  # root_key without glued descriptor words ("acmegroup" -> "acme")
    domain_kind: str  # "none" | "generic" | "hosted" | "normal"
    unglued: tuple[str, ...] = ()  # tokens, glued words split ("acmelabs" -> acme laboratories), or ()


def _display(text: str) -> str:
    text = " ".join(_clean_text(text, _MAX_NAME_CHARS).split())
    return text if len(text) <= 80 else text[:77] + "..."


@lru_cache(maxsize=8192)
def prepare(name: str, domain: str) -> PreparedRecord:
    """Normalise one record (name + domain/URL/e-mail) for :func:`compare_prepared`."""
    name = name or ""
    domain = domain or ""
    norm = normalize_company(name)
    tokens = tuple(t for t in norm.split() if t not in _STOPWORDS) or tuple(norm.split())
    unglued = tuple(part for t in tokens for part in _unglue(t))
    core = tuple(t for t in tokens if t not in _DROPPABLE_WORDS) or tokens
    acronym = "".join(t[0] for t in core) if len(core) >= 2 else ""
    distinctive = any(len(t) >= 4 and t not in _GENERIC_WORDS and not t.isdigit() for t in tokens)
    host = normalize_domain(domain)
    registrable = ""
    root = ""
    kind = "none"
    if host:
        labels = host.split(".")
        size, hosted = _public_suffix_length(labels)
        registrable = ".".join(labels[-(size + 1) :])
        root = labels[-(size + 1)]
        if registrable in _FREEMAIL_DOMAINS or root in _FREEMAIL_ROOTS:
            kind = "generic"
        elif hosted:
            kind = "hosted"
        else:
            kind = "normal"
    return PreparedRecord(
        name=_display(name),
        norm=norm,
        tokens=tokens,
        core=core,
        compact=norm.replace(" ", ""),
        raw_key=" ".join(_clean_text(name, _MAX_NAME_CHARS).casefold().split()) or name.strip().casefold(),
        acronym=acronym,
        distinctive=distinctive,
        domain=host,
        registrable=registrable,
        root=root,
        root_key=root.replace("-", ""),
        root_core=_root_core(root.replace("-", "")),
        domain_kind=kind,
        unglued=unglued if unglued != tokens else (),
    )


@lru_cache(maxsize=8192)
def _unglued_record(rec: PreparedRecord) -> PreparedRecord:
    """``rec`` with its glued words split, for a second look at the names."""
    if not rec.unglued:
        return rec
    tokens = rec.unglued
    core = tuple(t for t in tokens if t not in _DROPPABLE_WORDS) or tokens
    return replace(
        rec,
        norm=" ".join(tokens),
        tokens=tokens,
        core=core,
        compact="".join(tokens),
        acronym="".join(t[0] for t in core) if len(core) >= 2 else "",
        distinctive=any(len(t) >= 4 and t not in _GENERIC_WORDS and not t.isdigit() for t in tokens),
        unglued=(),
    )


# -------------------------------------------------------------------------- blocking


def blocking_keys(name: str, domain: str) -> set[str]:
    """A few short keys to fetch match candidates from an index.

    Two records that should match share at least one key in nearly all cases:

    * ``d:<root>``   domain root (non-free-mail), and the compact name when it is short
                     enough to be a domain root ("IBM" -> ``d:ibm``);
    * ``n:<token>``  first significant word and the longest distinctive word;
    * ``p:<4>``      first four characters of the compact normalised name;
    * ``c:<set>``    sorted consonants of the first significant word (survives vowel
                     typos and transpositions: "Mircosoft" ~ "Microsoft");
    * ``a:<abbr>``   acronym of a multi-word name, or a short single-word name.
    """
    rec = prepare(name, domain)
    keys: set[str] = set()
    if rec.root_key and rec.domain_kind in ("normal", "hosted"):
        keys.add(f"d:{rec.root_key}")
    if rec.compact and len(rec.compact) <= 24:
        keys.add(f"d:{rec.compact}")
    if rec.tokens:
        significant = [t for t in rec.tokens if t not in _DROPPABLE_WORDS] or list(rec.tokens)
        keys.add(f"n:{significant[0]}")
        distinctive = [t for t in significant if t not in _GENERIC_WORDS]
        if distinctive:
            keys.add(f"n:{max(distinctive, key=lambda t: (len(t), t))}")
        keys.add(f"p:{rec.compact[:4]}")
        consonants = sorted(set(significant[0]) - set("aeiouy0123456789"))
        if len(consonants) >= 3:
            keys.add(f"c:{''.join(consonants)}")
        if rec.unglued:  # "AcmeLabs Boston" also under the brand its spaced form starts with
            keys.add(f"n:{rec.unglued[0]}")
        if rec.acronym and 2 <= len(rec.acronym) <= 6:
            keys.add(f"a:{rec.acronym}")
        if len(rec.tokens) == 1 and 2 <= len(rec.compact) <= 6:
            keys.add(f"a:{rec.compact}")
    elif rec.raw_key:
        keys.add(f"r:{rec.raw_key[:16]}")
    return keys


# --------------------------------------------------------------------------- compare


@dataclass(frozen=True)
class Match:
    """Outcome of comparing two customer records."""

    score: float  # 0..1
    reasons: tuple[str, ...]  # human-readable explanation of every contributing signal
    is_conflict: bool  # score >= MATCH_THRESHOLD


def _typo_close(a: str, b: str, *, anchored: bool) -> bool:
    """One edit (incl. transposition) in words of 6+ letters, two in words of 10+; never digits.

    ``anchored`` (the names also share a distinctive word exactly) allows one inserted or
    dropped letter in 5-letter words too ("Bristol Myers Squibb" ~ "Bristol Meyers Squibb");
    a substituted letter in such short words usually makes another word ("Foods"/"Goods").
    """
    if a == b:
        return True
    if any(ch.isdigit() for ch in a + b):
        return False
    shortest = min(len(a), len(b))
    if shortest == 5 and anchored and abs(len(a) - len(b)) == 1:
        return OSA.distance(a, b, score_cutoff=1) <= 1
    if shortest < 6:
        return False
    allowed = 2 if shortest >= 10 else 1
    return OSA.distance(a, b, score_cutoff=allowed) <= allowed


def _abbreviates(a: str, b: str) -> bool:
    """One word is a truncated abbreviation of the other ("ind" ~ "industries")."""
    short, long = sorted((a, b), key=len)
    return len(short) >= 3 and short.isalpha() and len(long) >= len(short) + 2 and long.startswith(short)


def _align(short: tuple[str, ...], long: tuple[str, ...]) -> tuple[bool, list[tuple[str, str]], list[str]]:
    """Align every word of ``short`` to a distinct word of ``long``.

    Exact words first, then typos; truncated abbreviations only when the names also share a
    distinctive word exactly. Returns (all aligned, inexact (short, long) word pairs,
    unaligned words of ``long``).
    """
    anchored = any(len(t) >= 4 and t not in _GENERIC_WORDS and t in long for t in short)
    remaining = list(long)
    pending: list[str] = []
    for tok in short:
        if tok in remaining:
            remaining.remove(tok)
        else:
            pending.append(tok)
    fuzzy: list[tuple[str, str]] = []
    for tok in pending:
        for cand in remaining:
            if _typo_close(tok, cand, anchored=anchored) or (anchored and _abbreviates(tok, cand)):
                remaining.remove(cand)
                fuzzy.append((tok, cand))
                break
        else:
            return False, fuzzy, remaining
    return True, fuzzy, remaining


def _quote_pair(a: PreparedRecord, b: PreparedRecord) -> str:
    return f"('{a.name}' ~ '{b.name}')"


def _name_signal(a: PreparedRecord, b: PreparedRecord) -> tuple[float, str, bool]:
    """(weight, reason, names-equal) for the name comparison; symmetric in a, b.

    Names written with glued words ("AcmeLabs Boston") are compared with those words split, as the
    spaced form is normalised ("Acme Labs Boston" -> "acme laboratories boston"): that comparison
    decides when it finds anything, so "AcmeLabs Boston" ~ "Acme Boston" is a containment (labs is
    an extra word), not "acme" abbreviating "acmelabs"."""
    if a.unglued or b.unglued:
        weight, reason, equal = _name_signal_once(_unglued_record(a), _unglued_record(b))
        if weight:
            glued = ", ".join(f"'{r.norm}'" for r in (a, b) if r.unglued)
            return weight, f"{reason}; glued words split ({glued})", equal
    return _name_signal_once(a, b)


def _name_signal_once(a: PreparedRecord, b: PreparedRecord) -> tuple[float, str, bool]:
    if not a.compact or not b.compact:
        if not a.compact and not b.compact and a.raw_key and a.raw_key == b.raw_key:
            return _W_NAME_EXACT_GENERIC, f"identical company name text {_quote_pair(a, b)}", True
        return 0.0, "", False
    generic = not (a.distinctive and b.distinctive) or len(a.compact) <= 3
    if a.compact == b.compact:
        weight = _W_NAME_EXACT_GENERIC if generic else _W_NAME_EXACT
        return weight, f"company names match after normalisation {_quote_pair(a, b)}", True
    if sorted(a.tokens) == sorted(b.tokens):
        weight = _W_NAME_EXACT_GENERIC if generic else _W_NAME_EXACT
        return weight, f"company names have the same words in another order {_quote_pair(a, b)}", True

    short, long = (a, b) if (len(a.tokens), a.tokens) <= (len(b.tokens), b.tokens) else (b, a)
    aligned, fuzzy, extra = _align(short.tokens, long.tokens)
    if aligned and not extra:
        similarity = fuzz.token_sort_ratio(a.norm, b.norm)
        if similarity >= 70:
            words = ", ".join(f"'{x}' ~ '{y}'" for x, y in sorted(tuple(sorted(pair)) for pair in fuzzy))
            return (
                _W_NAME_TYPO,
                f"similar company names ({similarity:.0f}% token similarity; typo or abbreviation {words}) "
                f"{_quote_pair(a, b)}",
                False,
            )
    if aligned and extra and short.distinctive:
        coverage = fuzz.token_set_ratio(a.norm, b.norm)
        if all(t in _DROPPABLE_WORDS or t in _STOPWORDS for t in extra):
            return (
                _W_NAME_EXTENDED,
                f"one company name extends the other with generic words ({', '.join(extra)}; "
                f"{coverage:.0f}% token-set similarity) {_quote_pair(a, b)}",
                False,
            )
        return (
            _W_NAME_CONTAINED,
            f"one company name contains the other ({coverage:.0f}% token-set similarity) {_quote_pair(a, b)}",
            False,
        )
    # Same letters, words split differently, plus a typo
    # ("Price Waterhouse Coopers" ~ "Pricewaterhousecooper").
    if (
        len(a.tokens) != len(b.tokens)
        and min(len(a.compact), len(b.compact)) >= 10
        and OSA.distance(a.compact, b.compact, score_cutoff=1) <= 1
        and not any(ch.isdigit() for ch in a.compact + b.compact)
    ):
        similarity = fuzz.ratio(a.compact, b.compact)
        return (
            _W_NAME_COMPACT_TYPO,
            f"similar company names ({similarity:.0f}% character similarity) {_quote_pair(a, b)}",
            False,
        )
    # Acronym: "IBM" ~ "International Business Machines".
    for x, y in ((a, b), (b, a)):
        if len(x.core) == 1 and 2 <= len(x.core[0]) <= 6 and y.acronym and x.core[0] == y.acronym:
            return _W_ACRONYM, f"'{x.name}' is the acronym of '{y.name}'", False
    return 0.0, "", False


def _roots_related(a: str, b: str) -> bool:
    """Same or nested roots ("acme" ~ "acme-group"), hyphens ignored; nesting needs 4+ letters."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return len(short) >= 4 and (long.startswith(short) or long.endswith(short))


def compare_prepared(a: PreparedRecord, b: PreparedRecord) -> Match:
    """Compare two prepared records (see :func:`prepare`); symmetric in ``a`` and ``b``."""
    signals: list[float] = []
    reasons: list[str] = []

    # ---- domains
    both_real = a.domain_kind in ("normal", "hosted") and b.domain_kind in ("normal", "hosted")
    same_root = False
    mismatch = False
    if a.domain_kind == "generic" and b.domain_kind == "generic" and a.registrable == b.registrable:
        reasons.append(f"shared free-mail domain '{a.registrable}' is not evidence")
    elif both_real:
        if a.registrable == b.registrable:
            same_root = True
            if a.domain_kind == "hosted":
                signals.append(_W_SAME_HOSTED_SITE)
                reasons.append(f"same site on a hosting platform '{a.registrable}'")
            elif a.domain == b.domain:
                signals.append(_W_SAME_DOMAIN)
                reasons.append(f"identical domain '{a.domain}'")
            else:
                signals.append(_W_SAME_DOMAIN)
                lo, hi = sorted((a.domain, b.domain))
                reasons.append(f"same registrable domain '{a.registrable}' ({lo} ~ {hi})")
        elif a.domain_kind == "normal" and b.domain_kind == "normal" and a.root_core == b.root_core:
            same_root = True
            weak = len(a.root_core) < 4 or a.root_core in _GENERIC_WORDS
            signals.append(_W_SAME_ROOT_WEAK if weak else _W_SAME_ROOT)
            lo, hi = sorted((a.registrable, b.registrable))
            if a.root_key == b.root_key:
                reasons.append(f"same domain root '{a.root}' ({lo} ~ {hi})")
            else:
                reasons.append(f"related domains share the root '{a.root_core}' ({lo} ~ {hi})")
        elif (
            a.domain_kind == "normal"
            and b.domain_kind == "normal"
            and not _roots_related(a.root_key, b.root_key)
        ):
            mismatch = True

    # ---- names
    name_weight, name_reason, names_equal = _name_signal(a, b)
    if name_weight:
        signals.append(name_weight)
        reasons.append(name_reason)

    # ---- a domain root spelling the other side's name ("ibm.com" ~ "IBM" without a domain)
    if not same_root and not names_equal:
        for x, y in ((a, b), (b, a)):
            if (
                x.domain_kind == "normal"
                and y.domain_kind in ("none", "generic")
                and len(x.root_key) >= 2
                and y.compact
                and x.root_key in (y.compact, y.acronym, "".join(y.core))
            ):
                signals.append(_W_ROOT_IS_NAME)
                reasons.append(f"domain root '{x.root}' ({x.registrable}) matches company name '{y.name}'")
                break

    score = 1.0
    for weight in sorted(signals):  # fixed order keeps the float result symmetric
        score *= 1.0 - weight
    score = 1.0 - score if signals else 0.0

    if mismatch and score > 0:
        distinctive_equal = names_equal and a.distinctive and b.distinctive and len(a.compact) > 3
        factor = _PENALTY_DISTINCTIVE if distinctive_equal else _PENALTY_GENERIC
        score *= factor
        lo, hi = sorted((a.registrable, b.registrable))
        reasons.append(
            f"different domain roots '{a.root}' vs '{b.root}' ({lo} / {hi}) lower the score "
            f"by {round((1 - factor) * 100)}%"
        )

    score = round(min(1.0, max(0.0, score)), 4)
    return Match(score=score, reasons=tuple(reasons), is_conflict=score >= MATCH_THRESHOLD)


def compare(*, name_a: str, domain_a: str, name_b: str, domain_b: str) -> Match:
    """Compare two customer records (company name + domain, URL or e-mail address)."""
    return compare_prepared(prepare(name_a, domain_a), prepare(name_b, domain_b))
