"""Amounts as people and CRM exports write them ("$1,234.50", "1 234,50 €", "USD 1,200", "(5)"): a
format-level pre-parse to a plain number and a currency, then the one money rounding
(``core.validation.quantize_money``) within ``core.validation.MAX_AMOUNT``. Pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from openprm.core.validation import MAX_AMOUNT, quantize_money

CURRENCY_SYMBOLS: dict[str, str] = {
    "$": "USD",
    "US$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "₩": "KRW",
    "A$": "AUD",
    "AU$": "AUD",
    "C$": "CAD",
    "CA$": "CAD",
    "NZ$": "NZD",
    "HK$": "HKD",
    "S$": "SGD",
    "R$": "BRL",
    "MX$": "MXN",
}
# A bare "$" is read as USD, but agrees with a currency column naming any dollar (or peso) currency.
DOLLAR_CURRENCIES = frozenset({"USD", "CAD", "AUD", "NZD", "HKD", "SGD", "MXN", "BRL", "TWD", "ARS", "CLP"})
_SIMPLE_NUMBER = re.compile(r"^\d{1,12}(\.\d{1,2})?$")
_PREFIX = re.compile(r"^([A-Za-z]{3}(?![A-Za-z])|[A-Z]{1,2}\$|[$€£¥₹₩])\s*")
_SUFFIX = re.compile(r"\s*((?<![A-Za-z])[A-Za-z]{3}|[$€£¥₹₩])$")
_NUMBER_CHARS = re.compile(r"^\d[\d.,' ]*$")
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2212": "-"})


class AmountError(ValueError):
    """The text is not an amount; the message says why."""


@dataclass(frozen=True)
class Amount:
    value: Decimal  # rounded to cents; may be negative (the caller decides whether that is allowed)
    currency: str  # ISO code from a symbol or code written with the number, "" when none


def _currency_of(token: str) -> str:
    return CURRENCY_SYMBOLS.get(token.upper() if len(token) > 1 else token, "") or token.upper()


def parse_amount(text: str) -> Amount:
    """Read an amount as people and CRMs write it.

    Accepts a currency symbol or ISO code before or after the number ("$1,234.50", "1 234,50 €",
    "USD 1,200"), thousands separators (",", ".", spaces, apostrophes) in groups of three, a "," or "."
    decimal separator, and a sign ("-5", "(5)"). When one separator appears once, followed by exactly
    three digits, "," is read as a thousands separator ("1,234" = 1234, as US exports write it) while
    "." is refused as ambiguous. More than two decimals are rounded to cents, half up (``quantize_money``).
    """
    raw = text
    s = text.strip()
    if _SIMPLE_NUMBER.match(s):  # the common case, fast
        return Amount(quantize_money(Decimal(s)), "")
    s = s.translate(_SPACES).strip()
    if not s:
        raise AmountError("Not an amount: the cell is empty.")
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip()
    if s and s[0] in "-+":
        negative, s = s[0] == "-", s[1:].strip()
    currency = ""
    if match := _PREFIX.match(s):
        currency, s = _currency_of(match.group(1)), s[match.end() :]
    if match := _SUFFIX.search(s):
        if currency:
            raise AmountError(f"Not an amount: '{raw}' (two currencies).")
        currency, s = _currency_of(match.group(1)), s[: match.start()]
    s = s.strip()
    if s and s[0] in "-+" and not negative:
        negative, s = s[0] == "-", s[1:].strip()
    if not s or not _NUMBER_CHARS.match(s) or not s[-1].isdigit():
        raise AmountError(f"Not an amount: '{raw}'.")
    number = _plain_number(s, raw)
    try:
        value = quantize_money(Decimal(number))
    except InvalidOperation:
        raise AmountError(f"Not an amount: '{raw}'.") from None
    if abs(value) > MAX_AMOUNT:
        raise AmountError(f"Too large: '{raw}' (at most {MAX_AMOUNT}).")
    return Amount(-value if negative else value, currency)


def _plain_number(s: str, raw: str) -> str:
    """ "1.234.567,89" → "1234567.89"; raises AmountError when the separators make no sense."""
    spaced = " " in s or "'" in s
    s = s.replace("'", " ")
    commas, dots = s.count(","), s.count(".")
    decimal_sep = ""
    if commas and dots:
        decimal_sep = "," if s.rfind(",") > s.rfind(".") else "."
        if s.count(decimal_sep) > 1:
            raise AmountError(f"Not an amount: '{raw}' (misplaced separators).")
    elif commas or dots:
        sep = "," if commas else "."
        if s.count(sep) == 1:
            before, after = s.split(sep)
            before = before.replace(" ", "")
            looks_grouped = len(after) == 3 and 1 <= len(before) <= 3 and before[0] != "0"
            if spaced or not looks_grouped:
                decimal_sep = sep
            elif sep == ".":
                raise AmountError(
                    f"Ambiguous amount '{raw}': '.' followed by three digits may separate thousands or "
                    "decimals. Write it without a thousands separator (1234 or 1.23), or with both "
                    "separators (1,234.00 or 1.234,00)."
                )
    if decimal_sep:
        whole, fraction = s.rsplit(decimal_sep, 1)
        if not fraction.isdigit():
            raise AmountError(f"Not an amount: '{raw}' (misplaced separators).")
    else:
        whole, fraction = s, ""
    groups = re.split(r"[ .,]+", whole.strip())
    if len(groups) > 1 and (
        not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:]) or not all(groups)
    ):
        raise AmountError(f"Not an amount: '{raw}' (thousands separators must group three digits).")
    digits = "".join(groups)
    if not digits.isdigit():
        raise AmountError(f"Not an amount: '{raw}'.")
    return f"{digits}.{fraction}" if fraction else digits
