"""Propose a mapping from a header row: alias matching, known export layouts, commented YAML.

Each column gets one choice among ``TARGETS`` (a request field, with the phone or link type to
give it), found through ``ALIASES`` by a key that ignores case, spacing and punctuation, so
``E-mail``, ``Email address`` and ``candidateEmail`` all land on ``email``. Columns that match
no alias become custom fields named after the column. A caller such as a web form shows
``Suggestion.columns`` against ``TARGETS``, applies the user's changes with ``choose`` and
renders the result with ``to_yaml`` or ``to_mapping_dict``::

    suggestion = suggest_mapping(["Full name", "E-mail", "Mobile phone", "Stage"])
    suggestion.choose("Stage", None).to_yaml()
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from importer.mapping import normalise_header
from importer.read.headers import column_letter, header_label, repeated_at
from importer.read.limits import DEFAULT_LIMITS, WorkbookLimits
from importer.read.tables import open_table

EMPTY_VALUES = ["", "N/A", "n/a", "-", "null", "NULL", "none", "None"]
"""The cells a suggested mapping treats as empty (as mappings/default.yaml does; not "NA")."""
SAMPLE_ROWS = 200
"""Data rows ``suggest_for_file`` reads to tell day-first dates from month-first ones."""

_EMAIL_SPLIT = [",", ";"]
_PHONE_SPLIT = [",", ";", "/"]
_LINK_SPLIT = [",", ";", " "]


def _names(table: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in table.split(" | "))


@dataclass(frozen=True, slots=True)
class Target:
    """Where a column's values can go: a request field, and the phone or link type to give."""

    key: str
    """Stable id of the choice: ``email``, ``phone_numbers.mobile``, ``custom_fields``..."""
    field: str
    type: str | None
    label: str


TARGETS: tuple[Target, ...] = (
    Target("name", "name", None, "Full name"),
    Target("first_name", "first_name", None, "First name"),
    Target("last_name", "last_name", None, "Last name"),
    Target("email", "email", None, "E-mail (the first address of the cell)"),
    Target("phone_numbers", "phone_numbers", None, "Phone"),
    Target("phone_numbers.mobile", "phone_numbers", "mobile", "Mobile phone"),
    Target("phone_numbers.work", "phone_numbers", "work", "Work phone"),
    Target("phone_numbers.home", "phone_numbers", "home", "Home phone"),
    Target("company", "company", None, "Company"),
    Target("title", "title", None, "Job title"),
    Target("country", "country", None, "Country"),
    Target("hired_at", "hired_at", None, "Hire date"),
    Target("social_links", "social_links", "from_domain", "Web links (type from the domain)"),
    Target("social_links.linkedin", "social_links", "linkedin", "LinkedIn profile"),
    Target("social_links.github", "social_links", "github", "GitHub profile"),
    Target("social_links.twitter", "social_links", "twitter", "Twitter / X profile"),
    Target("social_links.facebook", "social_links", "facebook", "Facebook profile"),
    Target("custom_fields", "custom_fields", None, "Custom field named after the column"),
)
"""Every choice a column can take, in the order a form lists them; no target = left out."""
TARGETS_BY_KEY = {target.key: target for target in TARGETS}

ALIASES: dict[str, tuple[str, ...]] = {
    "name": _names(
        "Name | Full name | Full-Name | full_name | fullName | Candidate | Candidate name | "
        "Applicant | Applicant name | Prospect name | Contact name"
    ),
    "first_name": _names(
        "First name | First | firstName | first_name | Given name | Forename | "
        "candidateFirstName | Vorname"
    ),
    "last_name": _names(
        "Last name | Last | lastName | last_name | Surname | Family name | candidateLastName | "
        "Nachname"
    ),
    "email": _names(
        "Email | E-mail | Emails | E-mails | Email address | E-mail address | "
        "Email addresses | email_address | Mail | Primary email | Personal email | "
        "candidateEmail | E-Mail-Adresse"
    ),
    "phone_numbers": _names(
        "Phone | Phones | Phone number | Phone numbers | phone_numbers | phoneNumber | "
        "prospect_phone | candidatePhone | candidatePhoneNumber | Telephone | "
        "Telephone number | Tel | Contact number | Telefon | Telefonnummer"
    ),
    "phone_numbers.mobile": _names(
        "Mobile | Mobile phone | Mobile number | Mobile phone number | Cell | Cell phone | "
        "Cellphone | Mobil | Mobilnummer | Handy"
    ),
    "phone_numbers.work": _names("Work phone | Work phone number | Office phone | Business phone"),
    "phone_numbers.home": _names("Home phone | Home phone number"),
    "company": _names(
        "Company | Current company | Company name | companyName | Employer | "
        "Current employer | Organization | Organisation | Firma | Unternehmen"
    ),
    "title": _names(
        "Title | Current title | Job title | jobTitle | Headline | Position | Current position"
    ),
    "country": _names("Country | Country code | Country name | candidateCountry | Land"),
    "hired_at": _names(
        "Hired at | Hired on | Hired | Hire date | Hired date | Date hired | Application hire date"
    ),
    "social_links": _names(
        "Links | Social links | Social media | Social media links | Social profiles | "
        "Website | Websites | Personal website | Homepage | Portfolio | URL | URLs | "
        "Profile URL"
    ),
    "social_links.linkedin": _names(
        "LinkedIn | LinkedIn URL | LinkedIn profile | LinkedIn profile URL | linkedin_url"
    ),
    "social_links.github": _names("GitHub | GitHub URL | GitHub profile | github_url"),
    "social_links.twitter": _names("Twitter | Twitter URL | twitter_url | X (Twitter)"),
    "social_links.facebook": _names("Facebook | Facebook URL | facebook_url"),
}
"""Header spellings seen in ATS vendors' documented exports and import templates, by target."""

# A header that matches no alias is tried again without these words in front ("Candidate
# Email", "applicantPhone") and without a trailing number ("Phone 2", "Email-2").
_PREFIXES = ("candidate", "applicant", "prospect")
_NUMBERED = re.compile(r"(.*?[^\d])\d{1,2}")
# Personal data (GDPR special categories and the like) is never sent by default: the user maps
# it deliberately if the new ATS may hold it. Header words are matched whole or by their start.
_PERSONAL_WORDS = frozenset({"age", "dob", "sex", "race"})
_PERSONAL_STEMS = ("gender", "birth", "ethnic", "religio", "disabilit", "veteran", "sexual")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_WORD = re.compile(r"[^\W_]+")


def header_key(header: str) -> str:
    """The form headers are compared in: letters and digits only, case-folded."""
    return "".join(char for char in header.casefold() if char.isalnum())


def _alias_keys() -> dict[str, tuple[str, str]]:
    """Header key → (target key, alias); of the spellings that share a key ("Full name",
    "full_name"), the first listed names the match."""
    keys: dict[str, tuple[str, str]] = {}
    for target, aliases in ALIASES.items():
        for alias in aliases:
            keys.setdefault(header_key(alias), (target, alias))
    return keys


_ALIAS_KEYS = _alias_keys()


@dataclass(frozen=True, slots=True)
class Layout:
    """A known export or import template: its vendor, its shipped mapping and its headers."""

    name: str
    mapping: str
    """The name of the shipped mapping written for it (``--mapping NAME``)."""
    headers: tuple[str, ...]


LAYOUTS: tuple[Layout, ...] = (
    Layout(
        "Greenhouse",
        "greenhouse",
        _names(
            "First Name | Last Name | Company | Title | Notes | Email | Phone | Social Media | "
            "Website | Address | Source | Who gets credit | Job | Department | Office | "
            "Prospect Pool | Prospect Stage | Milestone"
        ),
    ),
    Layout(
        "Lever",
        "lever",
        _names(
            "Lever Profile ID | Full name | Email | Date Added | Stage | Archive Reason | "
            "Archive Date | Sources | Origin | Tags | Phone | Location | Links | Referrer | "
            "Resume Filename | Company | Owner | Lever Posting URL | Posting Owner | "
            "Posting Hiring Manager | IsSecretNote"
        ),
    ),
    Layout(
        "Recruitee",
        "recruitee",
        _names(
            "Name | Jobs | Emails | Phones | Tags | Sources | Links | Social Links | Cover Letter"
        ),
    ),
    Layout(
        "SmartRecruiters",
        "smartrecruiters",
        _names(
            "applicationCreationDate | applicationID | applicationLastUpdate | "
            "applicationReasonOfRejection | applicationReasonOfWithdrawal | "
            "applicationRejectedAfter | applicationStage | applicationStep | "
            "applicationWithdrawalAfter | appliedVia | candidateEmail | candidateEthnicity | "
            "candidateFirstName | candidateLastName | candidatePhoneNumber | candidateLocation"
        ),
    ),
    Layout(
        "Workable",
        "workable",
        _names(
            "First name | Last name | Name | Email | Phone | Headline | Cover Letter | "
            "Skills | Address | Experience | Education | Social Profiles | Resume | Job ID"
        ),
    ),
    Layout(
        "Personio",
        "personio",
        _names(
            "Candidate ID | Candidate name | Gender | Email address | Birthday | "
            "Available from | Expected salary | Candidate location | Final phase | Final status"
        ),
    ),
    Layout(
        "PeopleForce",
        "peopleforce",
        _names(
            "full_name | email | gender | skills | phone_numbers | skype_id | source | "
            "linkedin_url | position | location | facebook_url | added_on | date_of_birth | "
            "desired_salary | currency_code | notes | created_by_id"
        ),
    ),
)
"""Export and import layouts as each vendor documents them, with the shipped mapping for each."""


def _signatures() -> dict[str, frozenset[str]]:
    """Per layout, the header keys that point to it: in no other layout and no alias."""
    keys = {layout.name: {header_key(h) for h in layout.headers} for layout in LAYOUTS}
    signatures = {}
    for name, own in keys.items():
        others = set().union(*(k for other, k in keys.items() if other != name))
        signatures[name] = frozenset(own - others - _ALIAS_KEYS.keys())
    return signatures


_SIGNATURES = _signatures()


@dataclass(frozen=True, slots=True)
class LayoutMatch:
    """The known layout a header row looks like, and the evidence."""

    layout: Layout
    matched: tuple[str, ...]
    """The file's headers that are headers of the layout."""
    columns: int
    """How many named columns the file has."""

    def describe(self) -> str:
        name = self.layout.name
        return (
            f"looks like a {name} export ({len(self.matched)} of the file's {self.columns} "
            f"headers are {name} headers); importer ships a mapping for it: "
            f"--mapping {self.layout.mapping}"
        )


@dataclass(frozen=True, slots=True)
class ColumnChoice:
    """One column of the file and where its values go (``target`` None: left out)."""

    position: int
    """0-based column index."""
    header: str
    target: Target | None
    alias: str | None = None
    """The entry of ``ALIASES`` the header matches, whatever the choice; None if none does."""
    note: str | None = None
    """Why the column is left out when that was not the user's choice."""
    mappable: bool = True
    """False when no mapping can name the column: it has no header, or shares it."""

    @property
    def options(self) -> tuple[Target, ...]:
        """The targets a form may offer for this column (besides leaving it out)."""
        return TARGETS if self.mappable else ()


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A proposed mapping: one choice per column, the layout it looks like, date order."""

    columns: tuple[ColumnChoice, ...]
    layout: LayoutMatch | None = None
    day_first: bool | None = None
    """From the sample rows: True for 31/12/2024, False for 12/31/2024, None if unknown."""
    source: str | None = None
    """What the suggestion was made from, for the YAML's first comment."""
    header_row: int = 1
    """The spreadsheet row the headers were read from."""

    @property
    def fields(self) -> dict[str, list[str]]:
        """Target key → the headers mapped to it, for every target but custom fields."""
        found: dict[str, list[str]] = {}
        for column in self.columns:
            if column.target is not None and column.target.key != "custom_fields":
                found.setdefault(column.target.key, []).append(column.header)
        return found

    @property
    def custom_fields(self) -> list[str]:
        """Headers sent as custom fields named after the column."""
        return [c.header for c in self.columns if c.target is TARGETS_BY_KEY["custom_fields"]]

    @property
    def unmatched(self) -> list[str]:
        """Headers that match no alias (offered as custom fields unless chosen otherwise)."""
        return [c.header for c in self.columns if c.alias is None and c.mappable]

    @property
    def left_out(self) -> list[ColumnChoice]:
        return [c for c in self.columns if c.target is None]

    @property
    def has_name(self) -> bool:
        """Whether the choices give the API a name: name, or first_name and last_name."""
        fields = self.fields
        return "name" in fields or {"first_name", "last_name"} <= fields.keys()

    def describe(self) -> str:
        """One line for people: how many columns go where, and the layout it looks like."""
        fields = sum(len(headers) for headers in self.fields.values())
        text = (
            f"{fields} of {len(self.columns)} columns mapped to request fields, "
            f"{len(self.custom_fields)} to custom fields, {len(self.left_out)} left out"
        )
        if not self.has_name:
            text += "; no column gives a name: map name, or first_name and last_name"
        if self.layout is not None:
            text += f"; {self.layout.describe()}"
        return text

    def column(self, column: int | str) -> ColumnChoice:
        """A column by 0-based position or by header (compared like mapping headers)."""
        if isinstance(column, int):
            return self.columns[column]
        wanted = normalise_header(column)
        for choice in self.columns:
            if normalise_header(choice.header) == wanted:
                return choice
        raise KeyError(f'no column "{column}"; the headers are: {self._headers()}')

    def choose(self, column: int | str, target: str | None) -> Suggestion:
        """A copy with ``column`` sent to ``target`` (a key of TARGETS_BY_KEY; None: left out)."""
        choice = self.column(column)
        if target is not None and not choice.mappable:
            raise ValueError(
                f"column {column_letter(choice.position)} cannot be mapped: {choice.note}"
            )
        if target is not None and target not in TARGETS_BY_KEY:
            raise KeyError(f"unknown target {target!r}; choose one of: {', '.join(TARGETS_BY_KEY)}")
        if not choice.mappable:
            return self
        chosen = None if target is None else TARGETS_BY_KEY[target]
        columns = list(self.columns)
        columns[choice.position] = replace(choice, target=chosen, note=None)
        return replace(self, columns=tuple(columns))

    def to_mapping_dict(self) -> dict[str, Any]:
        """The mapping as the data ``parse_mapping`` takes (what ``to_yaml`` writes)."""
        return {
            "version": 1,
            "header_row": self.header_row,
            "empty_values": list(EMPTY_VALUES),
            "fields": self._fields(),
        }

    def to_yaml(self) -> str:
        """The mapping as commented YAML, ready to edit and use with ``importer run``."""
        return "".join(f"{line}\n" for line in self._yaml_lines())

    # -- building -----------------------------------------------------------------------------

    def _headers(self) -> str:
        return ", ".join(f'"{c.header}"' for c in self.columns if c.header) or "(none)"

    def _fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        by_key = self.fields
        for key, target in TARGETS_BY_KEY.items():
            headers = by_key.get(key)
            if not headers or target.field in ("phone_numbers", "social_links"):
                continue
            entry: dict[str, Any] = {"column": headers[0] if len(headers) == 1 else headers}
            if key == "email":
                entry |= {"split": list(_EMAIL_SPLIT), "lower": True}
            elif key == "hired_at":
                date: dict[str, Any] = {"excel_serial": True}
                if self.day_first is not None:
                    date["day_first"] = self.day_first
                entry["date"] = date
            fields[key] = entry
        country = by_key.get("country")
        phones = [self._phone(c.header, c.target, country) for c in self._of("phone_numbers")]
        if phones:
            fields["phone_numbers"] = phones
        links = [self._link(c.header, c.target) for c in self._of("social_links")]
        if links:
            fields["social_links"] = links
        customs = [{"name": header, "column": header} for header in self.custom_fields]
        if customs:
            fields["custom_fields"] = customs
        return fields

    def _of(self, field: str) -> Iterator[ColumnChoice]:
        return (c for c in self.columns if c.target is not None and c.target.field == field)

    @staticmethod
    def _phone(header: str, target: Target | None, country: list[str] | None) -> dict[str, Any]:
        entry: dict[str, Any] = {"column": header, "split": list(_PHONE_SPLIT)}
        if target is not None and target.type is not None:
            entry["type"] = target.type
        if country:
            # Numbers typed without +country code are read for the country in the row.
            entry["phone"] = {"region_column": list(country)}
        # A number that cannot be read with certainty is no reason to turn a candidate away.
        entry["on_invalid"] = "keep"
        return entry

    @staticmethod
    def _link(header: str, target: Target | None) -> dict[str, Any]:
        kind = "from_domain" if target is None or target.type is None else target.type
        if kind == "from_domain":
            return {"column": header, "split": list(_LINK_SPLIT), "type": kind}
        return {"column": header, "type": kind}

    def _yaml_lines(self) -> Iterator[str]:
        where = f" from {self.source}" if self.source else ""
        yield f"# Suggested by `importer suggest-mapping`{where}."
        if self.layout is not None:
            yield from _comment(f"It {self.layout.describe()}.")
        else:
            yield "# No known export layout recognised (importer mappings lists the ones it knows)."
        yield "# Check every choice, then try it: importer validate INPUT --mapping THIS_FILE"
        yield "# Reference: docs/mapping.md"
        if not self.has_name:
            yield "# WARNING: no column gives a name; the API needs name, or first_name and"
            yield "# last_name: map the columns that hold them."
        mapping = self.to_mapping_dict()
        yield "version: 1"
        if self.header_row > 1:
            skipped = "row 1" if self.header_row == 2 else f"rows 1-{self.header_row - 1}"
            yield f"# the column names are on row {self.header_row}: {skipped} above are skipped"
        else:
            yield "# the row holding the column names"
        yield f"header_row: {self.header_row}"
        yield "# cells that mean no value (NA is not one: it is Namibia's country code)"
        quoted = ", ".join(json.dumps(value) for value in mapping["empty_values"])
        yield f"empty_values: [{quoted}]"
        yield ""
        yield "fields:"
        fields: dict[str, Any] = mapping["fields"]
        for key, entry in fields.items():
            if key == "phone_numbers":
                if "country" not in fields:
                    yield "  # numbers without + and a country code are rejected: add"
                    yield "  # phone: {region: US} (your country code) to the entries"
                yield "  phone_numbers:"
                yield from (f"    - {_flow(item)}" for item in entry)
            elif key == "social_links":
                yield "  social_links:"
                yield from (f"    - {_flow(item)}" for item in entry)
            elif key == "custom_fields":
                yield "  # columns that match no request field, sent as custom fields named after"
                yield "  # the column: delete the ones the ATS should not receive"
                yield "  custom_fields:"
                yield from (f"    - {_flow(item)}" for item in entry)
            else:
                if key == "hired_at" and self.day_first is None:
                    yield "  # dates such as 01/03/2024 also need day_first: true (day first) or"
                    yield "  # false (month first) in date: {...}"
                several = len(self.fields[key]) > 1
                comment = "  # the first of these columns that is filled" if several else ""
                yield f"  {key}: {_flow(entry)}{comment}"
        left_out = self.left_out
        if left_out:
            yield "# Not mapped:"
            for column in left_out:
                label = f'"{column.header}"' if column.header else "(no header)"
                reason = column.note or "left out"
                line = f"column {column_letter(column.position)} {label}: {reason}"
                yield from _comment(line, "#   ", "  ")


# -- matching ----------------------------------------------------------------------------------


def match_header(header: str) -> tuple[Target, str] | None:
    """The target and alias a header matches, or None.

    >>> match_header("E-mail")[0].key
    'email'
    """
    key = header_key(header)
    for candidate in _variants(key):
        found = _ALIAS_KEYS.get(candidate)
        if found is not None:
            target, alias = found
            return TARGETS_BY_KEY[target], alias
    return None


def _variants(key: str) -> Iterator[str]:
    yield key
    stems = [key]
    for prefix in _PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            stems.append(key[len(prefix) :])
            yield stems[-1]
    for stem in stems:
        numbered = _NUMBERED.fullmatch(stem)
        if numbered:
            yield numbered[1]


def suggest_mapping(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]] = (),
    *,
    source: str | None = None,
    header_row: int = 1,
) -> Suggestion:
    """Propose a mapping for a header row.

    ``rows`` (optional, a few data rows) only serve to tell day-first dates from month-first
    ones in the column chosen for ``hired_at``. ``source`` names the file in the YAML, and
    ``header_row`` is the row the headers came from, written into the mapping.
    """
    labels = [header_label(header) for header in headers]
    counts: dict[str, list[int]] = {}
    for position, label in enumerate(labels):
        if label:
            counts.setdefault(normalise_header(label), []).append(position)
    choices = tuple(_choose(position, label, counts) for position, label in enumerate(labels))
    hired = [c.position for c in choices if c.target is TARGETS_BY_KEY["hired_at"]]
    return Suggestion(
        columns=choices,
        layout=detect_layout(labels),
        day_first=_day_first(rows, hired),
        source=source,
        header_row=header_row,
    )


def _choose(position: int, label: str, counts: dict[str, list[int]]) -> ColumnChoice:
    if not label:
        return ColumnChoice(position, label, None, note="the column has no header", mappable=False)
    matched = match_header(label)
    alias = None if matched is None else matched[1]
    same = counts[normalise_header(label)]
    if len(same) > 1:
        note = f"the header {repeated_at(same)}; rename one to map it"
        return ColumnChoice(position, label, None, alias, note, mappable=False)
    if matched is not None:
        return ColumnChoice(position, label, matched[0], alias)
    words = _WORD.findall(_CAMEL.sub(" ", label).casefold())
    if any(w in _PERSONAL_WORDS or w.startswith(_PERSONAL_STEMS) for w in words):
        note = "personal data: map it only if the new ATS may hold it"
        return ColumnChoice(position, label, None, note=note)
    return ColumnChoice(position, label, TARGETS_BY_KEY["custom_fields"])


def detect_layout(headers: Sequence[str]) -> LayoutMatch | None:
    """The known layout the headers look like: the one with most of its own headers present.

    A layout needs at least three of its headers in the file, one of them a header no other
    layout has and that is not a common alias (so a plain "First Name, Email" list is no one's).
    """
    keys = {header_key(h): h for h in headers if header_key(h)}
    best: tuple[int, int] = (0, 0)
    found = None
    for layout in LAYOUTS:
        own = {header_key(h) for h in layout.headers}
        matched = [header for key, header in keys.items() if _layout_key(key, own) in own]
        telling = sum(1 for key in keys if _layout_key(key, own) in _SIGNATURES[layout.name])
        score = (telling, len(matched))
        if telling and len(matched) >= 3 and score > best:
            best, found = score, LayoutMatch(layout, tuple(matched), len(keys))
    return found


def _layout_key(key: str, own: set[str]) -> str:
    # Repeating columns (Lever's "IsSecretNote-2") count as their unnumbered header.
    if key in own:
        return key
    numbered = _NUMBERED.fullmatch(key)
    return numbered[1] if numbered else key


_NUMERIC_DATE = re.compile(r"\s*(\d{1,2})[/.-](\d{1,2})[/.-]\d{2,4}(?:\s.*)?")


def _day_first(rows: Iterable[Sequence[str]], positions: list[int]) -> bool | None:
    """True when a date has a day above 12 first, False when second; None if unclear."""
    if not positions:
        return None
    seen: set[bool] = set()
    for row in rows:
        for position in positions:
            if position >= len(row):
                continue
            match = _NUMERIC_DATE.fullmatch(row[position])
            if match is None:
                continue
            first, second = int(match[1]), int(match[2])
            if first > 12 >= second:
                seen.add(True)
            elif second > 12 >= first:
                seen.add(False)
    return seen.pop() if len(seen) == 1 else None


# -- YAML --------------------------------------------------------------------------------------


def _comment(text: str, prefix: str = "# ", indent: str = "") -> Iterator[str]:
    """``text`` as comment lines within the line length, continuation lines indented."""
    yield from textwrap.wrap(
        text,
        width=98,
        initial_indent=prefix,
        subsequent_indent=prefix + indent,
        break_on_hyphens=False,
    )


_PLAIN = re.compile(r"[^\W\d_][\w .()/'&+-]*")
_YAML_WORDS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}


def _flow(value: Any) -> str:
    """``value`` in YAML flow style: plain words where YAML reads them back unchanged."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_flow(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(item) for item in value) + "]"
    text = str(value)
    if _PLAIN.fullmatch(text) and not text.endswith(" ") and text.casefold() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


# -- files -------------------------------------------------------------------------------------


def suggest_for_file(
    path: str | Path,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
    limits: WorkbookLimits = DEFAULT_LIMITS,
) -> Suggestion:
    """``suggest_mapping`` for a file's header row (found below any title lines unless given)
    and its first ``SAMPLE_ROWS`` rows."""
    with open_table(
        path, sheet=sheet, encoding=encoding, header_row=header_row, limits=limits
    ) as table:
        rows = []
        for row in table.rows:
            rows.append(row.values)
            if len(rows) == SAMPLE_ROWS:
                break
        where = f'{table.path.name}, sheet "{table.sheet}"' if table.sheet else table.path.name
        return suggest_mapping(table.headers, rows, source=where, header_row=table.header_row)
