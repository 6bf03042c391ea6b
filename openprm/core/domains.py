"""The one domain normaliser: partner domains, customer domains of deals and conflict matching all reduce a
URL, e-mail address or host name to the same host with ``normalize_domain``, so they always agree."""

from __future__ import annotations

import re
import unicodedata

_MAX_INPUT_CHARS = 2048


def _clean_text(text: str, limit: int) -> str:
    """Drop control characters (NUL ...) and cap the length."""
    text = text[:limit]
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\t\n")


_LDH_LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_WWW_LABEL_RE = re.compile(r"^www\d{0,2}$")
_URL_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*://")


def _to_ascii_label(label: str) -> str | None:
    if label.isascii():
        return label if _LDH_LABEL_RE.match(label) else None
    try:
        encoded = label.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    return encoded if _LDH_LABEL_RE.match(encoded) else None


def normalize_domain(value: str) -> str:
    """Host name from a URL, e-mail address or host; ``""`` when empty or invalid.

    Lower-cases, strips scheme, user info, path, query, port, leading ``www.`` labels and
    the trailing dot; international names are returned in IDNA (punycode) form. IP
    addresses and single-label hosts are invalid. Idempotent.
    """
    if not value:
        return ""
    text = _clean_text(value, _MAX_INPUT_CHARS).strip().lower()
    if text.startswith("mailto:"):
        text = text[len("mailto:") :]
    scheme = _URL_SCHEME_RE.match(text)
    if scheme:
        text = text[scheme.end() :]
        text = re.split(r"[/?#\\]", text, maxsplit=1)[0]
        text = text.rsplit("@", 1)[-1]
    else:
        text = text.rsplit("@", 1)[-1]
        text = re.split(r"[/?#\\]", text, maxsplit=1)[0]
    if text.startswith("["):  # IPv6 literal
        return ""
    text = text.split(":", 1)[0].strip()
    # Unicode full stops used by some IMEs.
    for dot in ("\u3002", "\uff0e", "\uff61"):
        text = text.replace(dot, ".")
    text = text.rstrip(".")
    if not text or len(text) > 253 or any(ch.isspace() for ch in text):
        return ""
    labels = []
    for raw in text.split("."):
        label = _to_ascii_label(raw)
        if label is None:
            return ""
        labels.append(label)
    while len(labels) > 2 and _WWW_LABEL_RE.match(labels[0]):
        labels = labels[1:]
    if len(labels) < 2 or labels[-1].isdigit() or not labels[-1][0].isalpha():
        return ""
    host = ".".join(labels)
    return host if len(host) <= 253 else ""
