"""Company names: normalisation ("ACME GmbH & Co. KG" -> "acme"), the customer key deals of one customer
share, and the word lists (legal suffixes, abbreviations, generic and droppable words) matching relies on."""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_CHARS = 300


def words(text: str) -> frozenset[str]:
    """Whitespace-separated words of an embedded list."""
    return frozenset(text.split())


def phrases(text: str) -> frozenset[tuple[str, ...]]:
    """Comma-separated phrases of an embedded list, each as a tuple of words."""
    return frozenset(tuple(phrase.split()) for phrase in text.split(",") if phrase.strip())


_LEGAL_SUFFIXES: frozenset[tuple[str, ...]] = phrases(
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
GENERIC_WORDS: frozenset[str] = words(
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
DROPPABLE_WORDS: frozenset[str] = words(
    """
    group holdings international global worldwide enterprises industries companies corporate usa us uk
    americas america europe emea apac asia deutschland germany france italia italy espana spain canada
    australia japan india china brasil brazil mexico nederland netherlands benelux nordic nordics
    schweiz suisse switzerland austria osterreich iberia ireland
    """
)

STOPWORDS: frozenset[str] = frozenset(
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


def clean_text(text: str, limit: int) -> str:
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
    text = _fold(clean_text(name, MAX_NAME_CHARS))
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


def unglue(token: str) -> tuple[str, ...]:
    """``acmelabs`` -> (``acme``, ``laboratories``); other tokens unchanged (longest spelling wins)."""
    if token in _GLUE_SPELLINGS or token in GENERIC_WORDS:
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
