"""Prepared records (a customer's name and domain normalised once, for many comparisons) and the blocking
keys that fetch match candidates from the ``CustomerKey`` index."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from openprm.core.domains import normalize_domain
from openprm.deals.matching.domains import FREEMAIL_DOMAINS, FREEMAIL_ROOTS, public_suffix_length, root_core
from openprm.deals.matching.names import (
    DROPPABLE_WORDS,
    GENERIC_WORDS,
    MAX_NAME_CHARS,
    STOPWORDS,
    clean_text,
    normalize_company,
    unglue,
)


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
    text = " ".join(clean_text(text, MAX_NAME_CHARS).split())
    return text if len(text) <= 80 else text[:77] + "..."


@lru_cache(maxsize=8192)
def prepare(name: str, domain: str) -> PreparedRecord:
    """Normalise one record (name + domain/URL/e-mail) for :func:`compare_prepared`."""
    name = name or ""
    domain = domain or ""
    norm = normalize_company(name)
    tokens = tuple(t for t in norm.split() if t not in STOPWORDS) or tuple(norm.split())
    unglued = tuple(part for t in tokens for part in unglue(t))
    core = tuple(t for t in tokens if t not in DROPPABLE_WORDS) or tokens
    acronym = "".join(t[0] for t in core) if len(core) >= 2 else ""
    distinctive = any(len(t) >= 4 and t not in GENERIC_WORDS and not t.isdigit() for t in tokens)
    host = normalize_domain(domain)
    registrable = ""
    root = ""
    kind = "none"
    if host:
        labels = host.split(".")
        size, hosted = public_suffix_length(labels)
        registrable = ".".join(labels[-(size + 1) :])
        root = labels[-(size + 1)]
        if registrable in FREEMAIL_DOMAINS or root in FREEMAIL_ROOTS:
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
        raw_key=" ".join(clean_text(name, MAX_NAME_CHARS).casefold().split()) or name.strip().casefold(),
        acronym=acronym,
        distinctive=distinctive,
        domain=host,
        registrable=registrable,
        root=root,
        root_key=root.replace("-", ""),
        root_core=root_core(root.replace("-", "")),
        domain_kind=kind,
        unglued=unglued if unglued != tokens else (),
    )


@lru_cache(maxsize=8192)
def unglued_record(rec: PreparedRecord) -> PreparedRecord:
    """``rec`` with its glued words split, for a second look at the names."""
    if not rec.unglued:
        return rec
    tokens = rec.unglued
    core = tuple(t for t in tokens if t not in DROPPABLE_WORDS) or tokens
    return replace(
        rec,
        norm=" ".join(tokens),
        tokens=tokens,
        core=core,
        compact="".join(tokens),
        acronym="".join(t[0] for t in core) if len(core) >= 2 else "",
        distinctive=any(len(t) >= 4 and t not in GENERIC_WORDS and not t.isdigit() for t in tokens),
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
        significant = [t for t in rec.tokens if t not in DROPPABLE_WORDS] or list(rec.tokens)
        keys.add(f"n:{significant[0]}")
        distinctive = [t for t in significant if t not in GENERIC_WORDS]
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
