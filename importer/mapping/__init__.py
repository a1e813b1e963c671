"""Mappings: YAML → validated ``Mapping`` → ``RowMapper`` bound to a header row → request bodies.

A mapping says, for each request field, where its value comes from and which rules clean it.
The full reference with examples is docs/mapping.md; in short::

    version: 1                    required; the schema version of this file
    header_row: 3                 the row holding the column names (default: found in the file;
                                  --header-row overrides it)
    sheet: Candidates             the workbook sheet to read (default: the first visible one;
                                  --sheet overrides it; CSV files ignore it)
    empty_values: ["", "N/A"]     cells that count as empty after stripping (exact, case-sensitive;
                                  "" is always empty); default [""]; a field may override it
    key: email                    the field or column that identifies a row across runs
    link_types: {bsky.app: bluesky}   extra domain → social link type pairs for type: from_domain
    fields:                       keys are request fields:
      name / first_name / last_name / email / company / title / country / phone_number
      hired_at                    + date: {formats: [...], day_first: true, excel_serial: true}
      phone_numbers: [entry...]   + phone: {region: GB, region_column: Country} | keep,
                                    type: mobile | {column: Phone Type, translate: {...}}
      social_links: [entry...]    + type: linkedin | from_domain (the default) | {column: ...}
      custom_fields: [entry...]   + name / id / remote_id, as: string|number|boolean|date-time
      passthrough / unified_custom_fields: {key: entry}   + as, date

Every entry takes exactly one source and any of the rules, applied in this order:

    column: Email | [Email, E-mail]   the cell; from a list, the first non-empty one
    template: "{First Name} {Last Name}"   columns joined; empty parts and their separators drop
    const: "value"                same value in every row
    optional_column: true         no error when none of the columns is in the file: the entry
                                  is left out (alternatives in a list may always be missing as
                                  long as one of them exists)
    strip: true                   (default) trim surrounding whitespace
    empty_values: [...]           this entry's own empty-cell list
    split: "," | [",", ";"]       several values in one cell: scalar fields take the first,
                                  list entries make one item per value, custom values a list
    name_part: first | last       "Last, First" or "First Middle Last" → one part
    lower / upper / title: true   change case (title keeps "McDonald" and "VP" as typed)
    translate: {Cell: mobile}     case-insensitive table; a miss is invalid-value ...
    translate_default: other      ... unless this is given
    default: "value"              used when the cell is empty
    required: true                an empty cell is a required-value reject

Then the value is converted for its field (e-mail check, phone to E.164, date-time, URL,
number, boolean), the body holds only fields with values, and ``CandidateCreate`` validates it;
when the mapping can only give values the model accepts (see ``_proven``), the conversions have
already done so and the model is not run.
"""

from importer.mapping.load import load_mapping, load_mapping_text, parse_mapping
from importer.mapping.rows import Prepared, PreparedFields, RowMapper
from importer.mapping.schema import Mapping, template_parts
from importer.read.headers import normalise_header

__all__ = [
    "Mapping",
    "Prepared",
    "PreparedFields",
    "RowMapper",
    "load_mapping",
    "load_mapping_text",
    "normalise_header",
    "parse_mapping",
    "template_parts",
]
