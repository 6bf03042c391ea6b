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

from openprm.core.domains import normalize_domain
from openprm.deals.matching.compare import MATCH_THRESHOLD, Match, compare, compare_prepared
from openprm.deals.matching.domains import domain_root, registrable_domain
from openprm.deals.matching.names import customer_key, normalize_company
from openprm.deals.matching.records import PreparedRecord, blocking_keys, prepare

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
