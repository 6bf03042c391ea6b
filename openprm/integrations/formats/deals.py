"""Deal CSV layouts (canonical, HubSpot deals export, Salesforce opportunity report) and cell parsing.

Pure functions over plain values (no database access), used by ``deals_import`` and the tests. Cells
holding amounts and dates are read by ``amounts.py`` and ``dates.py``.

Each layout maps the file's header labels to the fields a deal import understands; labels are compared
case-, space- and punctuation-insensitively ("Deal Stage" = "dealstage" = "deal_stage"). Columns a
layout does not understand are kept, with their original label, in ``Deal.properties``.

* **canonical** — ``external_id,partner_external_id,customer_name,customer_domain,amount,currency,stage,
  source,registered_at,expected_close_date,closed_at,products`` (``products`` separated by ``;``);
  optional ``title``, ``lost_reason``, ``approval_status``, ``approved_at``, ``contact_name``,
  ``contact_email``.
* **hubspot** — ``Record ID`` (the deal id), ``Deal Name``, ``Deal Stage``, ``Amount``, ``Close Date``,
  ``Create Date``, ``Associated Company`` (else the deal name is the customer), a currency column if any.
* **salesforce** — ``Opportunity ID`` (else ``Opportunity Name`` identifies the deal), ``Account Name``
  (else the opportunity name), ``Stage``, ``Amount``, ``Amount Currency`` or any other
  ``<Label> Currency`` column, ``Close Date``, ``Created Date``. The report footer (``Grand Totals (N
  records)``, the confidentiality notice and the copyright line) is skipped.

In the CRM layouts ``Close Date`` is the expected close date of an open deal and the close date of a won
or lost one. The partner comes from ``partner_external_id`` (or the column named by the caller), else
the default partner given to the import.
"""

from __future__ import annotations

import datetime
import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO

from openprm.integrations.formats.amounts import (
    CURRENCY_SYMBOLS,
    DOLLAR_CURRENCIES,
    Amount,
    AmountError,
    parse_amount,
)
from openprm.integrations.formats.csvread import CsvHeaderError, CsvRecord, CsvSource, RowError
from openprm.integrations.formats.dates import (
    DATE_HELP,
    DateError,
    default_timezone,
    parse_date,
    parse_datetime,
)
from openprm.integrations.formats.partners import split_list

# Amounts and dates are parsed in their own modules; their names stay importable from here.
__all__ = [
    "CURRENCY_SYMBOLS",
    "DATE_HELP",
    "DEAL_COLUMNS",
    "DEFAULT_STAGE_MAPS",
    "DOLLAR_CURRENCIES",
    "FORMATS",
    "Amount",
    "AmountError",
    "DateError",
    "DealLayout",
    "DealRow",
    "default_timezone",
    "is_salesforce_footer",
    "norm_label",
    "parse_amount",
    "parse_date",
    "parse_datetime",
    "parse_deal_row",
    "read_stage_map",
]

FORMATS: tuple[str, ...] = ("canonical", "hubspot", "salesforce")
DEAL_COLUMNS: tuple[str, ...] = (
    "external_id",
    "partner_external_id",
    "customer_name",
    "customer_domain",
    "amount",
    "currency",
    "stage",
    "source",
    "registered_at",
    "expected_close_date",
    "closed_at",
    "products",
)
ZERO = Decimal("0.00")
MAX_PROPERTIES_CHARS = 20_000
# Longest accepted cell per field (the model's column sizes).
MAX_LENGTHS = {
    "external_id": 100,
    "customer_name": 200,
    "customer_domain": 253,
    "title": 200,
    "lost_reason": 300,
    "contact_name": 200,
    "contact_email": 254,
}

_LABEL_RE = re.compile(r"[^0-9a-z]+")


def norm_label(text: str) -> str:
    """A header label or stage name compared loosely: lower-case letters and digits only."""
    return _LABEL_RE.sub("", text.lower())


# --- stages --------------------------------------------------------------------------------------------

# Default mapping of each format's stage names (normalized) to our stage keys; the program's own stage
# keys and names are always accepted too, and ``--stage-map`` entries take precedence over both.
CANONICAL_STAGES: dict[str, str] = {
    "won": "closed_won",
    "lost": "closed_lost",
}
HUBSPOT_STAGES: dict[str, str] = {
    "appointmentscheduled": "registered",
    "qualifiedtobuy": "qualified",
    "presentationscheduled": "proposal_sent",
    "decisionmakerboughtin": "negotiating",
    "contractsent": "negotiating",
    "closedwon": "closed_won",
    "closedlost": "closed_lost",
}
SALESFORCE_STAGES: dict[str, str] = {
    "prospecting": "registered",
    "qualification": "qualified",
    "needsanalysis": "qualified",
    "valueproposition": "proposal_sent",
    "iddecisionmakers": "proposal_sent",
    "perceptionanalysis": "proposal_sent",
    "proposalpricequote": "proposal_sent",
    "negotiationreview": "negotiating",
    "closedwon": "closed_won",
    "closedlost": "closed_lost",
}
DEFAULT_STAGE_MAPS: dict[str, dict[str, str]] = {
    "canonical": CANONICAL_STAGES,
    "hubspot": HUBSPOT_STAGES,
    "salesforce": SALESFORCE_STAGES,
}


def read_stage_map(stream: IO[bytes]) -> dict[str, str]:
    """A ``from,to`` CSV (header row required) as {normalized from-label: to-stage as written}."""
    source = CsvSource(stream)
    try:
        try:
            header = source.read_header()
        except CsvHeaderError as exc:
            raise CsvHeaderError(f"The stage map: {exc}") from exc
        if [norm_label(c) for c in header[:2]] != ["from", "to"]:
            raise CsvHeaderError("The stage map needs a header row 'from,to'.")
        mapping: dict[str, str] = {}
        for record in source.records():
            row = record.values
            if record.error and not (row and record.error.startswith("Has ")):
                raise CsvHeaderError(f"Stage map line {record.line}: {record.error}")
            if len(row) < 2 or not row[0].strip() or not row[1].strip():
                raise CsvHeaderError(f"Stage map line {record.line}: give both a 'from' and a 'to' stage.")
            mapping[norm_label(row[0])] = row[1].strip()
        return mapping
    finally:
        source.close()


# --- layouts -------------------------------------------------------------------------------------------

# Normalized header label → field, per format. "close_date" (CRM layouts) becomes the expected close
# date, and for won/lost deals also the close date.
_CANONICAL_FIELDS = {
    "externalid": "external_id",
    "partnerexternalid": "partner",
    "customername": "customer_name",
    "customerdomain": "customer_domain",
    "amount": "amount",
    "currency": "currency",
    "stage": "stage",
    "source": "source",
    "registeredat": "registered_at",
    "expectedclosedate": "expected_close_date",
    "closedat": "closed_at",
    "products": "products",
    "title": "title",
    "lostreason": "lost_reason",
    "approvalstatus": "approval_status",
    "approvedat": "approved_at",
    "contactname": "contact_name",
    "contactemail": "contact_email",
}
_HUBSPOT_FIELDS = {
    "recordid": "external_id",
    "dealid": "external_id",
    "hsobjectid": "external_id",
    "dealname": "title",
    "dealstage": "stage",
    "amount": "amount",
    "currency": "currency",
    "dealcurrencycode": "currency",
    "currencycode": "currency",
    "closedate": "close_date",
    "createdate": "registered_at",
    "createddate": "registered_at",
    "associatedcompany": "customer_name",
    "associatedcompanyprimary": "customer_name",
    "associatedcompanies": "customer_name",
    "companyname": "customer_name",
    "companydomainname": "customer_domain",
    "associatedcompanydomain": "customer_domain",
    "companydomain": "customer_domain",
    "closedlostreason": "lost_reason",
    "partnerexternalid": "partner",
}
_SALESFORCE_FIELDS = {
    "opportunityid": "external_id",
    "opportunityname": "title",
    "accountname": "customer_name",
    "stage": "stage",
    "amount": "amount",
    "amountcurrency": "currency",
    "opportunitycurrency": "currency",
    "currency": "currency",
    "closedate": "close_date",
    "createddate": "registered_at",
    "website": "customer_domain",
    "accountwebsite": "customer_domain",
    "lossreason": "lost_reason",
    "closedlostreason": "lost_reason",
    "partnerexternalid": "partner",
}
LAYOUT_FIELDS: dict[str, dict[str, str]] = {
    "canonical": _CANONICAL_FIELDS,
    "hubspot": _HUBSPOT_FIELDS,
    "salesforce": _SALESFORCE_FIELDS,
}
_REQUIRED: dict[str, tuple[tuple[str, str], ...]] = {  # (field, how to name it in an error)
    "canonical": (("external_id", "external_id"), ("customer_name", "customer_name")),
    "hubspot": (("external_id", "Record ID"), ("stage", "Deal Stage")),
    "salesforce": (("external_id", "Opportunity ID or Opportunity Name"), ("stage", "Stage")),
}
# The column named in errors about a field, per format (when the file has no such column).
_FIELD_LABELS = {
    "hubspot": {"partner": "partner_external_id"},
    "salesforce": {"partner": "partner_external_id"},
}

_SF_FOOTER = (
    re.compile(r"^grand totals? \(\s*[\d,.\s]+ records?\)$", re.IGNORECASE),
    re.compile(r"^confidential information\s*-\s*do not distribute$", re.IGNORECASE),
    re.compile(
        r"^copyright \(c\) \d{4}(-\d{4})? salesforce\.com, inc\. all rights reserved\.?$", re.IGNORECASE
    ),
)


def is_salesforce_footer(values: list[str]) -> bool:
    """A line of a Salesforce report's footer (totals, confidentiality notice, copyright)."""
    first = next((v.strip() for v in values if v.strip()), "")
    return any(pattern.match(first) for pattern in _SF_FOOTER)


@dataclass(frozen=True)
class DealLayout:
    """Where each understood field sits in a deals file, and which columns become properties."""

    format: str
    header: list[str]  # the labels as written (stripped)
    index: dict[str, int]  # field → position
    labels: dict[str, str]  # field → the header label it was read from (for error messages)
    properties: list[tuple[str, int]]  # (label, position) of the columns kept in Deal.properties
    has_default_partner: bool

    @classmethod
    def parse(
        cls,
        raw: list[str],
        *,
        format: str,
        partner_column: str | None = None,
        has_default_partner: bool = False,
    ) -> DealLayout:
        if format not in LAYOUT_FIELDS:
            raise CsvHeaderError(f"Unknown format '{format}'. Known: {', '.join(FORMATS)}.")
        aliases = dict(LAYOUT_FIELDS[format])
        if partner_column:
            aliases = {k: v for k, v in aliases.items() if v != "partner"}
            aliases[norm_label(partner_column)] = "partner"
        header = [label.strip() for label in raw]
        index: dict[str, int] = {}
        labels: dict[str, str] = {}
        properties: list[tuple[str, int]] = []
        duplicates: list[str] = []
        taken: set[str] = set()
        for position, label in enumerate(header):
            key = norm_label(label)
            if not key:
                continue
            target = aliases.get(key)
            if target is not None and target in index:
                if labels[target].lower() == label.lower():
                    duplicates.append(label)
                    continue
                target = None  # a second alias of a field already read (e.g. two company columns)
            if target is not None:
                index[target] = position
                labels[target] = label
                continue
            name, suffix = label, 2
            while name in taken:
                name, suffix = f"{label} ({suffix})", suffix + 1
            taken.add(name)
            properties.append((name, position))
        if duplicates:
            raise CsvHeaderError(f"Duplicate column(s) in the header: {', '.join(sorted(set(duplicates)))}.")
        if format == "salesforce":
            cls._salesforce_fallbacks(index, labels, properties)
        if partner_column and "partner" not in index:
            raise CsvHeaderError(f"The file has no partner column '{partner_column}'.")
        missing = [name for fld, name in _REQUIRED[format] if fld not in index]
        if missing:
            expected = ",".join(DEAL_COLUMNS) if format == "canonical" else ""
            hint = f" The canonical deals header is: {expected}." if expected else ""
            raise CsvHeaderError(f"Missing required column(s): {', '.join(missing)}.{hint}")
        if "partner" not in index and not has_default_partner:
            raise CsvHeaderError(
                "The file has no partner column (partner_external_id): name the partner column, or give "
                "the partner all its deals belong to."
            )
        return cls(
            format=format,
            header=header,
            index=index,
            labels=labels,
            properties=properties,
            has_default_partner=has_default_partner,
        )

    @staticmethod
    def _salesforce_fallbacks(
        index: dict[str, int], labels: dict[str, str], properties: list[tuple[str, int]]
    ) -> None:
        if "external_id" not in index and "title" in index:
            index["external_id"] = index["title"]
            labels["external_id"] = labels["title"]
        if "currency" not in index:  # any "<Label> Currency" column, e.g. "Expected Revenue Currency"
            for label, position in properties:
                if norm_label(label).endswith("currency"):
                    index["currency"] = position
                    labels["currency"] = label
                    break

    @functools.cached_property
    def positions(self) -> tuple[tuple[str, int], ...]:
        return tuple(self.index.items())

    @functools.cached_property
    def limits(self) -> tuple[tuple[str, int], ...]:
        """The fields with a maximum length, and that length."""
        return tuple((fld, MAX_LENGTHS[fld]) for fld in self.index if fld in MAX_LENGTHS)

    @functools.cached_property
    def date_fields(self) -> tuple[str, ...]:
        return tuple(
            f
            for f in ("registered_at", "close_date", "closed_at", "expected_close_date", "approved_at")
            if f in self.index
        )

    @property
    def has_expected_close_column(self) -> bool:
        return "close_date" in self.index or "expected_close_date" in self.index

    def label(self, fld: str) -> str:
        """The column to name in an error about ``fld``."""
        return self.labels.get(fld) or _FIELD_LABELS.get(self.format, {}).get(fld, fld)

    def cell(self, values: list[str], fld: str) -> str | None:
        position = self.index.get(fld)
        return None if position is None else values[position].strip()


@dataclass(slots=True)
class DealRow:
    """One deals record read into plain values; errors that need no database are already reported."""

    line: int
    external_id: str = ""
    partner_ref: str = ""  # "" = the import's default partner
    customer_name: str = ""
    customer_domain: str | None = None  # None: no such column
    amount: Decimal | None = None  # None: no amount column, or a bad amount; blank is 0
    currency: str = ""  # "" = from the amount's symbol, else the workspace currency
    stage: str = ""  # as written; "" = the first stage
    source: str | None = None
    registered_at: datetime.datetime | None = None
    expected_close_date: datetime.date | None = None
    closed_at: datetime.datetime | None = None
    products: list[str] | None = None  # None: no products column
    title: str | None = None
    lost_reason: str | None = None
    approval_status: str | None = None
    approved_at: datetime.datetime | None = None  # None: no such column, or blank
    contact_name: str | None = None
    contact_email: str | None = None
    properties: dict[str, str] | None = None  # None: the layout keeps no properties
    errors: list[RowError] = field(default_factory=list)
    unreadable: bool = False


def parse_deal_row(layout: DealLayout, record: CsvRecord, tz: datetime.tzinfo) -> DealRow:
    """Read a record; report what is wrong with it that needs no database look-up."""
    line = record.line
    row = DealRow(line=line)
    values = record.values
    errors = row.errors
    if record.error:
        errors.append(RowError(line, "", record.error))
        row.unreadable = True
        return row

    cells = {fld: values[position].strip() for fld, position in layout.positions}
    get = cells.get
    for fld, limit in layout.limits:
        if len(cells[fld]) > limit:
            message = f"At most {limit} characters (got {len(cells[fld])})."
            errors.append(RowError(line, layout.label(fld), message))

    row.external_id = get("external_id") or ""
    if not row.external_id:
        errors.append(RowError(line, layout.label("external_id"), "Required: deals are identified by it."))
    row.partner_ref = get("partner") or ""
    row.title = get("title")
    customer = get("customer_name") or ""
    if layout.format != "canonical":
        if not customer:
            customer = (row.title or "")[:200]  # a CRM deal without a company: its name stands for it
        if layout.format == "hubspot" and ";" in customer:  # several associated companies: the first
            customer = customer.split(";", 1)[0].strip()
    row.customer_name = customer
    if not customer:
        errors.append(RowError(line, layout.label("customer_name"), "Required: the customer company."))
    row.customer_domain = get("customer_domain")

    amount_cell = get("amount")
    symbol_currency = ""
    if amount_cell:
        try:
            amount = parse_amount(amount_cell)
        except AmountError as exc:
            errors.append(RowError(line, layout.label("amount"), str(exc)))
        else:
            symbol_currency = amount.currency
            if amount.value < 0:
                message = f"Must not be negative: '{amount_cell}'."
                errors.append(RowError(line, layout.label("amount"), message))
            else:
                row.amount = amount.value
    elif amount_cell is not None:
        row.amount = ZERO  # a deal without an amount yet
    currency = get("currency")
    if currency:
        currency = currency.upper()
        if len(currency) != 3 or not currency.isalpha():
            message = f"'{currency}' is not an ISO 4217 currency code."
            errors.append(RowError(line, layout.label("currency"), message))
        elif (
            symbol_currency
            and currency != symbol_currency
            and not (
                symbol_currency == "USD" and currency in DOLLAR_CURRENCIES and "$" in (amount_cell or "")
            )
        ):
            message = f"The amount is in {symbol_currency} but the currency column says {currency}."
            errors.append(RowError(line, layout.label("amount"), message))
    row.currency = currency or symbol_currency

    row.stage = get("stage") or ""
    source = get("source")
    row.source = source.lower() if source is not None else None

    for fld in layout.date_fields:
        value = cells[fld]
        if not value:
            continue
        try:
            moment = parse_datetime(value, tz)
        except DateError as exc:
            errors.append(RowError(line, layout.label(fld), str(exc)))
            continue
        if fld == "registered_at":
            row.registered_at = moment
        elif fld == "closed_at":
            row.closed_at = moment
        elif fld == "expected_close_date":
            row.expected_close_date = moment.date()
        elif fld == "approved_at":
            row.approved_at = moment
        else:  # close_date (CRM layouts): the expected close, and the close of a won or lost deal
            row.closed_at = moment
            row.expected_close_date = moment.date()

    products = get("products")
    if products is not None:
        row.products = split_list(products) if products else []
    row.lost_reason = get("lost_reason")
    status = get("approval_status")
    row.approval_status = status.lower() if status else None
    row.contact_name = get("contact_name")
    email = get("contact_email")
    row.contact_email = email.lower() if email is not None else None

    if layout.properties or layout.format != "canonical":
        properties = {label: values[position].strip() for label, position in layout.properties}
        row.properties = {k: v for k, v in properties.items() if v}
        if sum(len(k) + len(v) + 6 for k, v in row.properties.items()) > MAX_PROPERTIES_CHARS:
            message = f"The extra columns hold more than {MAX_PROPERTIES_CHARS:,} characters."
            errors.append(RowError(line, "", message))
    return row
