"""suggest-mapping: aliases to request fields, layouts, the choices a form can change, and YAML
that validates and imports the file it was made from."""

from pathlib import Path

import openpyxl
import pytest
import yaml

from importer.cli import main
from importer.mapping import Mapping, load_mapping, parse_mapping
from importer.mapping.shipped import shipped_mappings
from importer.suggest import (
    ALIASES,
    SHEETS_SEARCHED,
    TARGETS,
    TARGETS_BY_KEY,
    header_key,
    suggest_for_file,
    suggest_mapping,
)
from tests.sandboxed import DATA, MAPPINGS, SAMPLES, import_file

ALIAS_TABLE = [(alias, key) for key, aliases in ALIASES.items() for alias in aliases]


def target_of(header: str) -> str | None:
    (column,) = suggest_mapping([header]).columns
    return None if column.target is None else column.target.key


@pytest.mark.parametrize(("alias", "key"), ALIAS_TABLE)
def test_every_alias_picks_its_field(alias: str, key: str) -> None:
    spellings = {
        alias,
        alias.upper(),
        alias.lower(),
        f"  {alias}\ufeff ",
        alias.replace(" ", "_"),
        alias.replace(" ", "-"),
        alias.replace(" ", ""),
    }
    assert {spelling: target_of(spelling) for spelling in spellings} == dict.fromkeys(
        spellings, key
    )
    (column,) = suggest_mapping([alias]).columns
    assert column.alias is not None
    assert header_key(column.alias) == header_key(alias)


def test_no_spelling_is_the_alias_of_two_fields() -> None:
    owners: dict[str, set[str]] = {}
    for alias, key in ALIAS_TABLE:
        owners.setdefault(header_key(alias), set()).add(key)
    assert {spelling: keys for spelling, keys in owners.items() if len(keys) > 1} == {}
    assert set(ALIASES) <= set(TARGETS_BY_KEY)


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Candidate Email", "email"),
        ("applicantPhone", "phone_numbers"),
        ("Prospect Company", "company"),
        ("Phone 2", "phone_numbers"),
        ("Email-2", "email"),
        ("candidateLinkedIn", "social_links.linkedin"),
        ("Candidate ID", "custom_fields"),
        ("Notes 1", "custom_fields"),
    ],
)
def test_a_prefix_or_a_number_does_not_hide_the_field(header: str, key: str) -> None:
    assert target_of(header) == key


def test_unmatched_columns_are_offered_as_custom_fields_named_after_the_column() -> None:
    suggestion = suggest_mapping(["Full name", "E-mail", "Stage", "Years of experience"])
    assert suggestion.fields == {"name": ["Full name"], "email": ["E-mail"]}
    assert suggestion.unmatched == ["Stage", "Years of experience"]
    assert suggestion.to_mapping_dict()["fields"]["custom_fields"] == [
        {"name": "Stage", "column": "Stage", "on_invalid": "drop"},
        {"name": "Years of experience", "column": "Years of experience", "on_invalid": "drop"},
    ]


@pytest.mark.parametrize(
    "header", ["Gender", "Birthday", "date_of_birth", "candidateEthnicity", "DOB", "Age", "Race"]
)
def test_personal_data_is_left_out_with_the_reason(header: str) -> None:
    suggestion = suggest_mapping(["Name", header])
    (left_out,) = suggestion.left_out
    assert (left_out.header, left_out.mappable) == (header, True)
    assert left_out.note is not None
    assert left_out.note.startswith("personal data")
    assert "custom_fields" not in suggestion.to_mapping_dict()["fields"]


@pytest.mark.parametrize("header", ["Agency", "Stage", "Grace period", "Racetrack"])
def test_words_that_only_contain_personal_stems_are_not_left_out(header: str) -> None:
    assert target_of(header) == "custom_fields"


def test_empty_and_repeated_headers_are_left_out_because_no_mapping_can_name_them() -> None:
    # The repeated header differs only in case, which mapping binding ignores too.
    suggestion = suggest_mapping(["Email", "", "Phone", "EMAIL", "Name"])
    assert [(c.header, c.note) for c in suggestion.left_out] == [
        ("Email", "the header appears in columns A and D; rename one to map it"),
        ("", "the column has no header"),
        ("EMAIL", "the header appears in columns A and D; rename one to map it"),
    ]
    assert not any(c.mappable for c in suggestion.left_out)
    assert [len(c.options) for c in suggestion.columns] == [0, 0, len(TARGETS), 0, len(TARGETS)]
    assert [c.alias for c in suggestion.left_out] == ["Email", None, "Email"]
    assert suggestion.unmatched == []
    assert "email" not in suggestion.to_mapping_dict()["fields"]
    assert "#   column B (no header): the column has no header" in suggestion.to_yaml()
    load_mapping_for(suggestion.to_yaml()).bind(["Email", "", "Phone", "EMAIL", "Name"])


def test_several_columns_for_one_field_become_alternatives_first_filled_wins() -> None:
    fields = suggest_mapping(["Email", "Email address", "Name"]).to_mapping_dict()["fields"]
    assert fields["email"]["column"] == ["Email", "Email address"]


def test_lists_get_one_entry_per_column_with_type_and_split() -> None:
    fields = suggest_mapping(
        ["Name", "Phone", "Mobile phone", "Work phone", "LinkedIn URL", "Links", "Country"]
    ).to_mapping_dict()["fields"]
    region = {"region_column": ["Country"]}
    split = [",", ";", "/", "\n"]
    keep = {"on_invalid": "keep"}
    assert fields["phone_numbers"] == [
        {"column": "Phone", "split": split, "phone": region, **keep},
        {"column": "Mobile phone", "split": split, "type": "mobile", "phone": region, **keep},
        {"column": "Work phone", "split": split, "type": "work", "phone": region, **keep},
    ]
    assert fields["social_links"] == [
        {"column": "LinkedIn URL", "type": "linkedin", "on_invalid": "drop"},
        {
            "column": "Links",
            "split": [",", ";", " ", "\n"],
            "type": "from_domain",
            "on_invalid": "drop",
        },
    ]
    assert fields["country"] == {"column": "Country"}


def test_without_a_country_column_phones_have_no_region_and_the_yaml_says_how_to_add_one() -> None:
    suggestion = suggest_mapping(["Name", "Phone"])
    assert "phone" not in suggestion.to_mapping_dict()["fields"]["phone_numbers"][0]
    lines = suggestion.to_yaml().splitlines()
    comment = " ".join(line.strip().removeprefix("# ") for line in lines)
    assert (
        "numbers without + and a country code (the file has no country column) are sent as "
        "typed, with a warning: add phone: {region: XX} to the entries to read them as numbers "
        "of the country XX"
    ) in comment


@pytest.mark.parametrize(
    ("dates", "day_first"),
    [
        (["2024-03-01", "15/08/2023"], True),
        (["12/31/2023", "01/02/2024"], False),
        (["01/02/2024", "03/04/2024"], None),  # ambiguous: the YAML asks
        (["31/12/2023", "12/31/2023"], None),  # contradictory
        (["45292", ""], None),
        # dots are written day first wherever they are written, with no month-first date beside
        (["08.02.2023", "02/05/2023"], True),
        (["05/01/2024 10.30", "02/05/2023"], None),  # a dot in the time says nothing
        (["08.02.2023", "12/31/2023"], None),
    ],
)
def test_date_order_comes_from_the_sample_rows(dates: list[str], day_first: bool | None) -> None:
    suggestion = suggest_mapping(["Name", "Hired On"], [["Ann", date] for date in dates])
    assert suggestion.day_first is day_first
    date = suggestion.to_mapping_dict()["fields"]["hired_at"]["date"]
    expected = {"excel_serial": True} | ({} if day_first is None else {"day_first": day_first})
    assert date == expected
    assert ("day_first: true (day first)" in suggestion.to_yaml()) is (day_first is None)


def test_choose_changes_one_column_and_the_mapping_follows() -> None:
    suggestion = suggest_mapping(["Full name", "E-mail", "Stage", "Tel"])
    changed = suggestion.choose("stage", None).choose(3, "phone_numbers.mobile")
    assert suggestion.custom_fields == ["Stage"]  # the original is unchanged
    assert changed.custom_fields == []
    assert [c.header for c in changed.left_out] == ["Stage"]
    assert changed.fields["phone_numbers.mobile"] == ["Tel"]
    assert changed.columns[3].alias == "Tel"  # what the header matches stays known
    assert changed.unmatched == suggestion.unmatched == ["Stage"]
    fields = changed.to_mapping_dict()["fields"]
    assert fields["phone_numbers"] == [
        {"column": "Tel", "split": [",", ";", "/", "\n"], "type": "mobile", "on_invalid": "keep"}
    ]
    assert "custom_fields" not in fields


def test_choose_refuses_unknown_targets_and_columns_no_mapping_can_name() -> None:
    suggestion = suggest_mapping(["Name", "Email", "email", ""])
    with pytest.raises(KeyError, match="unknown target 'e-mail'"):
        suggestion.choose("Name", "e-mail")
    with pytest.raises(KeyError, match='no column "Phone"'):
        suggestion.choose("Phone", "email")
    with pytest.raises(ValueError, match="column D cannot be mapped: the column has no header"):
        suggestion.choose(3, "custom_fields")


def test_every_target_is_a_choice_a_form_can_show() -> None:
    assert [t.key for t in TARGETS][:4] == ["name", "first_name", "last_name", "email"]
    assert all(t.label for t in TARGETS)
    everything = suggest_mapping([f"Column {i}" for i in range(len(TARGETS))])
    for position, target in enumerate(TARGETS):
        everything = everything.choose(position, target.key)
    mapping = parse_mapping(everything.to_mapping_dict(), "every target")
    mapping.bind([c.header for c in everything.columns])


def load_mapping_for(text: str) -> Mapping:
    return parse_mapping(yaml.safe_load(text), "suggested")


@pytest.mark.parametrize(
    "headers",
    [
        ["First Name", "Last Name", "Email", "Phone", "Country", "Hired On", "LinkedIn"],
        ["Name", "Yes", "No", "null", "On", "123", "2024-01-01", "Notes: internal", "#id"],
        ["Name", "a, b", "[x]", "{y}", 'say "hi"', "back\\slash", "tab\there", "Zoë's  notes"],
        ["Name", "Source ", "  Source2", "x: y", "- dash", "? q", "& amp", "* star", "!bang"],
    ],
)
def test_the_yaml_reads_back_as_the_mapping_dict_and_validates(headers: list[str]) -> None:
    suggestion = suggest_mapping(headers)
    assert yaml.safe_load(suggestion.to_yaml()) == suggestion.to_mapping_dict()
    load_mapping_for(suggestion.to_yaml()).bind(headers)


LAYOUT_OF_SAMPLE = [
    ("greenhouse.csv", "Greenhouse"),
    ("lever.csv", "Lever"),
    ("lever_migration.csv", "Lever"),
    ("recruitee.csv", "Recruitee"),
    ("smartrecruiters.csv", "SmartRecruiters"),
    ("workable.csv", "Workable"),
    ("personio.csv", "Personio"),
    ("peopleforce.csv", "PeopleForce"),
    ("candidates.csv", None),
    ("candidates.xlsx", None),
]


@pytest.mark.parametrize(("sample", "layout"), LAYOUT_OF_SAMPLE)
def test_the_layout_a_sample_looks_like_is_named(sample: str, layout: str | None) -> None:
    suggestion = suggest_for_file(SAMPLES / sample)
    found = suggestion.layout
    assert (found.layout.name if found else None) == layout
    text = suggestion.to_yaml()
    if found is None:
        assert "# No known export layout recognised" in text
    else:
        assert f"# It looks like a {layout} export ({len(found.matched)} of the file's" in text
        comment = " ".join(line.removeprefix("# ") for line in text.splitlines())
        assert f"importer ships a mapping for it: --mapping {found.layout.mapping}." in comment
        assert found.layout.mapping in shipped_mappings()


def test_a_plain_list_of_common_headers_is_no_vendors_layout() -> None:
    headers = ["First Name", "Last Name", "Email", "Phone", "Company", "Title", "Website"]
    assert suggest_mapping(headers).layout is None


def test_lever_notes_columns_count_as_their_unnumbered_header() -> None:
    headers = ["Full Name", "Email", "Stage", "Origin", "IsSecretNote-1", "IsSecretNote-2"]
    found = suggest_mapping(headers).layout
    assert found is not None
    assert found.layout.name == "Lever"
    assert found.matched == tuple(headers)


@pytest.mark.parametrize(("sample", "layout"), LAYOUT_OF_SAMPLE)
def test_the_suggestion_imports_the_file_it_was_made_from_like_the_shipped_mapping(
    tmp_path: Path, sample: str, layout: str | None
) -> None:
    suggested = tmp_path / "suggested.yaml"
    suggested.write_text(suggest_for_file(SAMPLES / sample).to_yaml(), encoding="utf-8")
    shipped = MAPPINGS / ("default.yaml" if layout is None else f"{layout.lower()}.yaml")
    ours = import_file(SAMPLES / sample, tmp_path / "ours", load_mapping(suggested), dry_run=True)
    theirs = import_file(SAMPLES / sample, tmp_path / "theirs", shipped, dry_run=True)
    assert ours.outcomes() == theirs.outcomes()
    assert any(status == "not_attempted" and not code for status, code in ours.outcomes().values())


def test_the_suggestion_for_the_sample_creates_its_valid_rows_in_the_sandbox(
    tmp_path: Path,
) -> None:
    mapping = load_mapping_for(suggest_for_file(SAMPLES / "candidates.csv").to_yaml())
    imported = import_file(SAMPLES / "candidates.csv", tmp_path, mapping)
    statuses = [status for status, _ in imported.outcomes().values()]
    assert (statuses.count("created"), statuses.count("rejected")) == (15, 3)
    grace = imported.body(3)
    assert grace["hired_at"] == "2024-03-01T00:00:00.000Z"  # 01/03/2024, day first
    assert grace["phone_numbers"] == [
        {"phone": "+12025550143"},
        {"phone": "+12025550199", "type": "mobile"},
    ]


# -- the command -------------------------------------------------------------------------------


def test_cli_prints_the_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["suggest-mapping", str(SAMPLES / "lever.csv")]) == 0
    out = capsys.readouterr().out
    assert out == suggest_for_file(SAMPLES / "lever.csv").to_yaml()
    assert "# It looks like a Lever export" in out


def test_cli_writes_the_file_and_never_replaces_one_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "mine.yaml"
    assert main(["suggest-mapping", str(SAMPLES / "workable.csv"), "-o", str(target)]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"wrote {target}: 5 of 10 columns mapped to request fields, ")
    assert "looks like a Workable export" in err
    load_mapping(target)
    target.write_text("mine", encoding="utf-8")
    assert main(["suggest-mapping", str(SAMPLES / "workable.csv"), "-o", str(target)]) == 2
    assert "exists: name another file, or pass --force" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "mine"
    argv = ["suggest-mapping", str(SAMPLES / "workable.csv"), "-o", str(target), "--force"]
    assert main(argv) == 0
    load_mapping(target)


def test_cli_header_row_and_sheet(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["suggest-mapping", str(DATA / "header_row_3.csv"), "--header-row", "3"]) == 0
    out = capsys.readouterr().out
    assert "first_name: {column: First Name}" in out
    assert "from header_row_3.csv." in out
    assert main(["suggest-mapping", str(DATA / "hidden_sheet.xlsx"), "--sheet", "archive"]) == 0
    out = capsys.readouterr().out
    assert 'from hidden_sheet.xlsx, sheet "Archive".' in out
    assert '# the workbook sheet to read\nsheet: "Archive"\n' in out
    assert "- {name: Left, column: Left, on_invalid: drop}" in out


def cover_sheet_workbook(path: Path) -> Path:
    """A template as people get them: instructions first, a hidden list sheet, then the
    candidates below a title line and a blank row."""
    workbook = openpyxl.Workbook()
    cover = workbook.active
    assert cover is not None
    cover.title = "Read me"
    cover.append(["How to fill in this template"])
    cover.append(["One candidate per row on the Candidates sheet."])
    lists = workbook.create_sheet("Lists")
    lists.append(["First Name", "Last Name", "Email"])
    lists.sheet_state = "hidden"
    candidates = workbook.create_sheet("Candidates")
    candidates.append(["Candidate export, March 2024"])
    candidates.append([])
    candidates.append(["First Name", "Last Name", "Email"])
    candidates.append(["Ada", "Lovelace", "ada@example.org"])
    candidates.append(["Alan", "Turing", "alan@example.org"])
    workbook.save(path)
    return path


def test_candidates_after_a_cover_sheet_are_found_and_the_mapping_names_their_sheet(
    tmp_path: Path,
) -> None:
    path = cover_sheet_workbook(tmp_path / "template.xlsx")
    suggestion = suggest_for_file(path)
    assert (suggestion.sheet, suggestion.passed_sheets) == ("Candidates", ("Read me",))
    assert suggestion.header_row == 3
    text = suggestion.to_yaml()
    assert text.startswith(
        '# Suggested by `importer suggest-mapping` from template.xlsx, sheet "Candidates".\n'
    )
    assert (
        '# the candidates are on sheet "Candidates": "Read me" before it has no name column\n'
        'sheet: "Candidates"\n'
    ) in text
    assert 'the candidates are on sheet "Candidates"' in suggestion.describe()
    target = tmp_path / "template.yaml"
    target.write_text(text, encoding="utf-8")
    assert load_mapping(target).sheet == "Candidates"
    # the run reads the sheet the mapping names, without --sheet
    imported = import_file(path, tmp_path / "out", target)
    assert imported.outcomes() == {4: ("created", ""), 5: ("created", "")}


def test_a_workbook_whose_first_sheet_has_the_candidates_is_not_named() -> None:
    suggestion = suggest_for_file(SAMPLES / "candidates.xlsx")
    assert (suggestion.sheet, suggestion.passed_sheets) == (None, ())
    assert "\nsheet:" not in suggestion.to_yaml()


def test_a_workbook_with_no_sheet_of_candidates_keeps_its_first_sheet(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Notes"
    sheet.append(["Remarks"])
    workbook.create_sheet("Totals").append(["Total", "Open"])
    workbook.save(tmp_path / "notes.xlsx")
    suggestion = suggest_for_file(tmp_path / "notes.xlsx")
    assert (suggestion.sheet, suggestion.passed_sheets) == (None, ())
    assert suggestion.source == 'notes.xlsx, sheet "Notes"'
    assert "# WARNING: no column gives a name" in suggestion.to_yaml()


@pytest.mark.parametrize(("position", "found"), [(5, True), (SHEETS_SEARCHED + 2, False)])
def test_the_candidates_are_looked_for_on_the_first_sheets_only(
    tmp_path: Path, position: int, found: bool
) -> None:
    """A workbook of thousands of sheets is not read thousands of times."""
    workbook = openpyxl.Workbook()
    for number in range(1, SHEETS_SEARCHED + 5):
        sheet = workbook.active if number == 1 else workbook.create_sheet()
        assert sheet is not None
        sheet.title = f"Sheet {number}"
        sheet.append(["First Name", "Last Name"] if number == position else ["Remarks"])
    workbook.save(tmp_path / "many.xlsx")
    suggestion = suggest_for_file(tmp_path / "many.xlsx")
    assert suggestion.sheet == (f"Sheet {position}" if found else None)
    assert suggestion.has_name == found


def test_a_mapping_that_finds_no_columns_on_the_sheet_names_the_other_sheets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = cover_sheet_workbook(tmp_path / "template.xlsx")
    argv = ["validate", str(path), "--mapping", str(MAPPINGS / "default.yaml")]
    assert main([*argv, "--out", str(tmp_path / "first")]) == 2
    err = capsys.readouterr().err
    assert f'not found in {path}, sheet "Read me"; the headers are: How to fill in' in err
    # the hidden sheet is not offered: the user cannot see it in Excel
    assert (
        'the workbook\'s other sheets: "Candidates": to read one, pass --sheet NAME '
        "(or put sheet: NAME in the mapping)"
    ) in err
    assert "Traceback" not in err
    assert main([*argv, "--out", str(tmp_path / "second"), "--sheet", "Candidates", "-q"]) == 0


def test_a_sheet_the_mapping_names_and_the_workbook_lacks_is_traced_to_the_mapping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = cover_sheet_workbook(tmp_path / "template.xlsx")
    mapping = tmp_path / "renamed.yaml"
    mapping.write_text(
        "version: 1\nsheet: Kandidaten\nfields:\n"
        "  first_name: {column: First Name}\n  last_name: {column: Last Name}\n",
        encoding="utf-8",
    )
    argv = ["validate", str(path), "--mapping", str(mapping)]
    assert main([*argv, "--out", str(tmp_path / "first")]) == 2
    assert capsys.readouterr().err == (
        f'importer: error: {path} has no sheet "Kandidaten", the sheet the mapping {mapping} '
        'names; its sheets are: "Read me", "Lists" (hidden), "Candidates": pass --sheet NAME, '
        "or change the mapping's sheet:\n"
    )
    # --sheet wins over the mapping's
    assert main([*argv, "--out", str(tmp_path / "second"), "--sheet", "candidates", "-q"]) == 0
    assert main([*argv, "--out", str(tmp_path / "third"), "--sheet", "Kandidat"]) == 2
    assert f'{path} has no sheet "Kandidat"; its sheets are: ' in capsys.readouterr().err


def test_a_csv_file_is_read_whatever_sheet_the_mapping_names(tmp_path: Path) -> None:
    mapping = tmp_path / "from-a-workbook.yaml"
    mapping.write_text(
        "version: 1\nsheet: Candidates\nfields:\n"
        "  first_name: {column: First Name}\n  last_name: {column: Last Name}\n",
        encoding="utf-8",
    )
    imported = import_file(DATA / "header_row_3.csv", tmp_path / "out", mapping)
    assert imported.outcomes() == {4: ("created", ""), 5: ("created", "")}


def test_cli_unreadable_input_is_exit_2_without_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["suggest-mapping", str(DATA / "empty.csv")]) == 2
    err = capsys.readouterr().err
    assert "is empty: it needs a header row" in err
    assert "Traceback" not in err


def test_the_header_row_found_below_a_title_is_written_into_the_mapping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "titled.yaml"
    assert main(["suggest-mapping", str(DATA / "header_row_3.csv"), "-o", str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    assert "# the column names are on row 3: rows 1-2 above are skipped\nheader_row: 3\n" in text
    assert load_mapping(target).header_row == 3
    imported = import_file(DATA / "header_row_3.csv", tmp_path / "out", target)
    assert imported.outcomes() == {4: ("created", ""), 5: ("created", "")}


@pytest.mark.parametrize(
    "headers",
    [
        ["Prénom", "Nom", "Adresse e-mail", "Téléphone portable", "Pays", "Entreprise", "Poste"],
        ["Nombre", "Apellidos", "Correo electrónico", "Móvil", "País", "Empresa", "Puesto"],
        ["Nome", "Cognome", "Indirizzo email", "Cellulare", "Paese", "Azienda", "Ruolo"],
        ["Voornaam", "Achternaam", "E-mailadres", "Mobiel", "Land", "Bedrijf", "Functie"],
    ],
    ids=["French", "Spanish", "Italian", "Dutch"],
)
def test_an_export_with_european_headers_is_mapped_to_the_request_fields(
    headers: list[str],
) -> None:
    """Every column of these exports used to become a custom field: no name, so no candidate."""
    suggested = [
        column.target.key if column.target else None for column in suggest_mapping(headers).columns
    ]
    assert suggested == [
        "first_name",
        "last_name",
        "email",
        "phone_numbers.mobile",
        "country",
        "company",
        "title",
    ]
