"""Named value rules: small pure functions that clean, check and convert the text of one cell.

Each check or conversion returns the value to send or raises ``RuleError`` carrying a reject
code and a message that names the value and the fix (the caller adds the row and the column).
The expensive conversions (phones, dates, unusual e-mails) are cached per input, because real
files repeat values and a cache hit costs far less than phonenumbers or strptime.
"""

from importer.rules.countries import country_key, country_regions, region_of_country
from importer.rules.dates import (
    DAY_FIRST_FORMATS,
    MONTH_FIRST_FORMATS,
    date_converter,
    date_order,
    date_time,
)
from importer.rules.email import email_address
from importer.rules.links import LINK_TYPES, host_of, link_type, web_address
from importer.rules.phone import phone_e164, phone_reader
from importer.rules.text import (
    NO_VALUE,
    Flagged,
    RuleError,
    Translation,
    check_precision,
    excel_error,
    lower_case,
    plain_text,
    separator_pattern,
    split_full_name,
    split_values,
    title_case,
)
from importer.rules.values import boolean, number

__all__ = [
    "DAY_FIRST_FORMATS",
    "LINK_TYPES",
    "MONTH_FIRST_FORMATS",
    "NO_VALUE",
    "Flagged",
    "RuleError",
    "Translation",
    "boolean",
    "check_precision",
    "country_key",
    "country_regions",
    "date_converter",
    "date_order",
    "date_time",
    "email_address",
    "excel_error",
    "host_of",
    "link_type",
    "lower_case",
    "number",
    "phone_e164",
    "phone_reader",
    "plain_text",
    "region_of_country",
    "separator_pattern",
    "split_full_name",
    "split_values",
    "title_case",
    "web_address",
]
