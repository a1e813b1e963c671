"""RESULTS.md: the machine, the command, every scenario's figures, and each goal met or not."""

from __future__ import annotations

from collections.abc import Sequence

from bench.scenarios import Section


def render(
    sections: Sequence[Section], machine: dict[str, str], command: str, minutes: float
) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{command}` on {machine['date']}; the run took {minutes:.1f} minutes. "
        "Everything here is generated: re-run the command rather than editing this file.",
        "",
        f"Machine: {machine['cores']} cores ({machine['cpu']}), {machine['memory']}, "
        f"{machine['python']}, {machine['os']}; load average at the start "
        f"{machine['load']}. The machine is shared with other work and noisy: read absolute "
        "figures as ±30 % and compare ratios measured in the same run.",
        "",
        "Figures are `median (min–max)` over the runs. The sandbox (`python -m importer.sandbox`) "
        "runs in its own process on 127.0.0.1, so client and server each have a core when both "
        "are busy; CPU shares are of one core.",
        "",
        "## Goals",
        "",
        "| scenario | goal | measured | met |",
        "|---|---|---|---|",
    ]
    for section in sections:
        for goal in section.goals:
            verdict = "**met**" if goal.met else "**not met**"
            lines.append(f"| {section.title} | {goal.text} | {goal.figure} | {verdict} |")
    for section in sections:
        lines += ["", f"## {section.title}", "", section.setup, ""]
        lines += _table(section.table)
        if section.goals:
            lines.append("")
            for goal in section.goals:
                verdict = "met" if goal.met else "**not met**"
                lines.append(f"- {goal.text}: {goal.figure} — {verdict}")
        for note in section.notes:
            lines += ["", note]
        if section.profile is not None:
            lines += ["", "Profile:", "", section.profile.markdown]
        lines += ["", f"_Scenario time: {section.seconds / 60:.1f} min._"]
    return "\n".join(lines) + "\n"


def _table(rows: list[list[str]]) -> list[str]:
    header, *body = rows
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in body),
    ]
