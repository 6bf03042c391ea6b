"""Comparing two prepared records: domain and name signals combined with a noisy-or, each explained."""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from openprm.deals.matching.names import DROPPABLE_WORDS, GENERIC_WORDS, STOPWORDS
from openprm.deals.matching.records import PreparedRecord, prepare, unglued_record

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
    anchored = any(len(t) >= 4 and t not in GENERIC_WORDS and t in long for t in short)
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
        weight, reason, equal = _name_signal_once(unglued_record(a), unglued_record(b))
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
        if all(t in DROPPABLE_WORDS or t in STOPWORDS for t in extra):
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
            weak = len(a.root_core) < 4 or a.root_core in GENERIC_WORDS
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
