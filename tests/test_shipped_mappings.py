"""Shipped mappings by name: `--mapping NAME`, `importer mappings`, and the page's list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from importer.cli import main
from importer.errors import ConfigError
from importer.mapping import load_mapping
from importer.mapping.shipped import shipped_mappings
from importer.suggest import LAYOUTS
from importer.web.server import WebConfig, start_server_thread
from tests.sandboxed import MAPPINGS, SAMPLES

HEADERS = {"X-Importer-Token": "t"}


def test_the_shipped_mappings_are_the_files_of_the_repositorys_mappings_folder() -> None:
    shipped = shipped_mappings()
    assert sorted(shipped) == sorted(path.stem for path in MAPPINGS.glob("*.yaml"))
    assert next(iter(shipped)) == "default"
    for name, mapping in shipped.items():
        assert mapping.text() == (MAPPINGS / f"{name}.yaml").read_text(encoding="utf-8-sig")
        assert mapping.label == f"mappings/{name}.yaml"


def test_every_shipped_mapping_describes_itself_in_its_first_line() -> None:
    descriptions = {name: m.description for name, m in shipped_mappings().items()}
    assert descriptions["default"] == "a typical English candidates spreadsheet"
    assert descriptions["greenhouse"] == "Greenhouse candidate or prospect sheet"
    assert all(descriptions.values()), descriptions


def test_importer_mappings_lists_each_with_its_description(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["mappings"]) == 0
    lines = capsys.readouterr().out.splitlines()
    shipped = shipped_mappings()
    assert [line.split()[0] for line in lines] == list(shipped)
    for line, mapping in zip(lines, shipped.values(), strict=True):
        assert line.endswith(f"  {mapping.description}")


def test_every_layout_suggest_recognises_names_a_shipped_mapping() -> None:
    assert {layout.mapping for layout in LAYOUTS} <= shipped_mappings().keys() - {"default"}


def test_a_name_loads_the_same_mapping_as_the_path(tmp_path: Path) -> None:
    by_name = load_mapping("greenhouse")
    by_path = load_mapping(MAPPINGS / "greenhouse.yaml")
    assert by_name.model_dump() == by_path.model_dump()
    assert by_name.source == "mappings/greenhouse.yaml"


def test_the_cli_imports_with_a_mapping_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["validate", str(SAMPLES / "greenhouse.csv"), "--quiet", "--json"]
    by_name = main([*args, "--mapping", "greenhouse", "--out", str(tmp_path / "a")])
    named = json.loads(capsys.readouterr().out)
    path = str(MAPPINGS / "greenhouse.yaml")
    by_path = main([*args, "--mapping", path, "--out", str(tmp_path / "b")])
    pathed = json.loads(capsys.readouterr().out)
    assert by_name == by_path == 0
    warned = {"kept-as-typed": 1, "extra-values-dropped": 1}
    assert named["by_warning_code"] == pathed["by_warning_code"] == warned
    assert named["mapping"] == "mappings/greenhouse.yaml"
    results = [(tmp_path / out / "results.csv").read_bytes() for out in ("a", "b")]
    assert results[0] == results[1]


def test_a_file_of_that_name_wins_over_the_shipped_mapping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("greenhouse").write_text("version: 1\nfields: {email: {column: Mail}}\n", "utf-8")
    mapping = load_mapping("greenhouse")
    assert mapping.source == "greenhouse"
    assert mapping.columns() == ["Mail"]


def test_an_unknown_name_stops_with_exit_2_listing_the_shipped_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["validate", str(SAMPLES / "lever.csv"), "--mapping", "levr", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert "levr: no such mapping file, and no shipped mapping has that name" in err
    assert "(did you mean lever?)" in err
    assert "the shipped mappings are: " + ", ".join(shipped_mappings()) in err
    assert "Traceback" not in err


def test_a_missing_file_path_is_not_taken_for_a_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the mapping"):
        load_mapping(tmp_path / "default.yaml")
    with pytest.raises(ConfigError, match="cannot read the mapping"):
        load_mapping("default.yaml")


def test_the_page_offers_the_shipped_mappings() -> None:
    import urllib.request

    with start_server_thread(WebConfig(port=0, token="t")) as server:
        request = urllib.request.Request(f"{server.url}/api/config", headers=HEADERS)
        with urllib.request.urlopen(request) as answer:
            config = json.load(answer)
    assert config["mappings"] == list(shipped_mappings())


def test_the_page_offers_another_folder_when_told(tmp_path: Path) -> None:
    import urllib.request

    (tmp_path / "ours.yaml").write_text("# mappings/ours.yaml: ours → POST\nversion: 1\n")
    (tmp_path / "not a name.yaml").write_text("version: 1\n")
    config = WebConfig(port=0, token="t", mappings_dir=tmp_path)
    with start_server_thread(config) as server:
        request = urllib.request.Request(f"{server.url}/api/config", headers=HEADERS)
        with urllib.request.urlopen(request) as answer:
            offered = json.load(answer)["mappings"]
    assert offered == ["ours"]


def test_importer_mappings_name_prints_the_yaml_to_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["mappings", "default"]) == 0
    copy = tmp_path / "mine.yaml"
    copy.write_text(capsys.readouterr().out, encoding="utf-8")
    assert copy.read_text("utf-8") == (MAPPINGS / "default.yaml").read_text("utf-8")
    assert load_mapping(copy).model_dump() == load_mapping("default").model_dump()
    assert main(["mappings", "nope"]) == 2
    assert "no shipped mapping has that name" in capsys.readouterr().err
