"""deploy/compose.yaml cannot run here (no Docker): it parses, its command lines are ones the
importer accepts, and its split step gives every row of the input to exactly one worker."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import yaml

from importer.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "deploy" / "compose.yaml"


def services() -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    return found


def test_every_importer_command_parses() -> None:
    parser = build_parser()
    workers = {name: s for name, s in services().items() if name.startswith("worker-")}
    assert len(workers) >= 2
    for service in workers.values():
        args = parser.parse_args(service["command"])
        assert args.command == "run"
        assert service["environment"]["IMPORTER_PACER_URL"] == "redis://redis:6379/0"
    outs = {parser.parse_args(s["command"]).out for s in workers.values()}
    assert len(outs) == len(workers), "two workers would share a report folder"
    assert parser.parse_args(services()["sandbox"]["command"]).command == "sandbox"


def test_the_split_gives_every_row_to_one_worker(tmp_path: Path) -> None:
    script = services()["split"]["command"][2]
    (tmp_path / "parts").mkdir()
    script = script.replace("/samples/", str(ROOT / "samples") + "/")
    exec(script.replace("/parts/", str(tmp_path / "parts") + "/"), {})
    with (ROOT / "samples" / "candidates.csv").open(newline="", encoding="utf-8-sig") as f:
        header, *rows = list(csv.reader(f))
    parts = []
    for service in (s for n, s in services().items() if n.startswith("worker-")):
        part = tmp_path / "parts" / Path(service["command"][1]).name
        with part.open(newline="", encoding="utf-8") as f:
            parts.append(list(csv.reader(f)))
    assert all(part[0] == header for part in parts)
    assert sorted(row for part in parts for row in part[1:]) == sorted(rows)
