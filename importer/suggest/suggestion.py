"""A proposed mapping: one choice per column, changed by ``choose``, written as mapping data."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from importer.mapping import normalise_header
from importer.read.headers import column_letter
from importer.suggest.layouts import LayoutMatch
from importer.suggest.regions import RegionGuess
from importer.suggest.sample import date_formats, day_first, phone_region
from importer.suggest.targets import TARGETS, TARGETS_BY_KEY, Target

EMPTY_VALUES = ["", "N/A", "n/a", "-", "null", "NULL", "none", "None"]
"""The cells a suggested mapping treats as empty (as mappings/default.yaml does; not "NA")."""

# A line break too: a cell with two values on two lines (Alt+Enter in Excel) is two values.
_EMAIL_SPLIT = [",", ";", "\n"]
_PHONE_SPLIT = [",", ";", "/", "\n"]
_LINK_SPLIT = [",", ";", " ", "\n"]


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
    date_formats: tuple[str, ...] = ()
    """From the sample rows: the forms of dates written with month names (1 March 2024)."""
    source: str | None = None
    """What the suggestion was made from, for the YAML's first comment."""
    header_row: int = 1
    """The spreadsheet row the headers were read from."""
    sheet: str | None = None
    """The workbook sheet the mapping names: one given, or the one found holding candidates
    after ``passed_sheets``; None when it is the first visible sheet, read without naming it."""
    passed_sheets: tuple[str, ...] = ()
    """Visible sheets before ``sheet`` whose columns give no name (a cover or notes sheet)."""
    sample: tuple[tuple[str, ...], ...] = ()
    """The data rows the dates and ``phone_region`` were told from, for ``choose``."""
    phone_region: RegionGuess | None = None
    """From the sample rows that give no country: the region of numbers typed without +."""

    def resampled(self) -> Suggestion:
        """A copy with the dates' forms and ``phone_region`` told from the sample for the
        current choices (a column chosen as a date, a phone or a country changes them)."""
        positions: dict[str, list[int]] = {}
        for c in self.columns:
            if c.target is not None:
                positions.setdefault(c.target.field, []).append(c.position)
        region = phone_region(
            self.sample,
            positions.get("phone_numbers", []),
            positions.get("country", []),
            empty=EMPTY_VALUES,
            split=_PHONE_SPLIT,
        )
        hired = positions.get("hired_at", [])
        return replace(
            self,
            day_first=day_first(self.sample, hired),
            date_formats=date_formats(self.sample, hired),
            phone_region=region,
        )

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
        if self.phone_region is not None and self.phone_region.region is not None:
            text += f"; numbers without + read as {self.phone_region.region} numbers (the sample's)"
        if self.layout is not None:
            text += f"; {self.layout.describe()}"
        if self.sheet_note is not None:
            text += f"; {self.sheet_note}"
        return text

    @property
    def sheet_note(self) -> str | None:
        """Why the mapping names a sheet other than the first, when it was found, not given."""
        if not self.passed_sheets:
            return None
        names = ", ".join(f'"{name}"' for name in self.passed_sheets)
        verb = "has" if len(self.passed_sheets) == 1 else "have"
        found = f'the candidates are on sheet "{self.sheet}"'
        return f"{found}: {names} before it {verb} no name column"

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
        return replace(self, columns=tuple(columns)).resampled()

    def to_mapping_dict(self) -> dict[str, Any]:
        """The mapping as the data ``parse_mapping`` takes (what ``to_yaml`` writes)."""
        return {
            "version": 1,
            **({} if self.sheet is None else {"sheet": self.sheet}),
            "header_row": self.header_row,
            "empty_values": list(EMPTY_VALUES),
            "fields": self._fields(),
        }

    def to_yaml(self) -> str:
        """The mapping as commented YAML, ready to edit and use with ``importer run``."""
        from importer.suggest.render import yaml_lines

        return "".join(f"{line}\n" for line in yaml_lines(self))

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
                if self.date_formats:
                    date["formats"] = list(self.date_formats)
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
        # A custom value Excel already destroyed (4.47701E+11) is left out with a warning:
        # a column nobody has checked yet is no reason to turn a candidate away.
        customs = [
            {"name": header, "column": header, "on_invalid": "drop"}
            for header in self.custom_fields
        ]
        if customs:
            fields["custom_fields"] = customs
        return fields

    def _of(self, field: str) -> Iterator[ColumnChoice]:
        return (c for c in self.columns if c.target is not None and c.target.field == field)

    def _phone(
        self, header: str, target: Target | None, country: list[str] | None
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {"column": header, "split": list(_PHONE_SPLIT)}
        if target is not None and target.type is not None:
            entry["type"] = target.type
        phone: dict[str, Any] = {}
        if self.phone_region is not None and self.phone_region.region is not None:
            # What the sample's numbers typed without + show; a row's country comes first.
            phone["region"] = self.phone_region.region
        if country:
            # Numbers typed without +country code are read for the country in the row.
            phone["region_column"] = list(country)
        if phone:
            entry["phone"] = phone
        # A number that cannot be read with certainty is no reason to turn a candidate away.
        entry["on_invalid"] = "keep"
        return entry

    @staticmethod
    def _link(header: str, target: Target | None) -> dict[str, Any]:
        kind = "from_domain" if target is None or target.type is None else target.type
        entry: dict[str, Any] = {"column": header}
        if kind == "from_domain":
            entry["split"] = list(_LINK_SPLIT)
        # What is no web address ("see CV") is left out with a warning rather than sent into a
        # field the ATS may check as a URL, and the candidate is created.
        return entry | {"type": kind, "on_invalid": "drop"}
