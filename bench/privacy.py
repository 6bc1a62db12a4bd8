"""Team-report privacy benchmark (on demand, not part of the test suite): ``python -m bench.privacy``.

The first ``/ai-roi`` (or ``ai-roi team``) of a week decides every group of the organisation at
once (``bot.domain.privacy.decide_week``): the exact rank test that no combination of reports
isolates fewer than k people. This times that decision for synthetic organisations of
``--people`` sizes: teams of 4–12, departments of four teams, the organisation, and (``cross``)
one cross-team group (a Slack user group) per three teams, of 5–20 people drawn at random, whose
overlaps are what make the test work hard. Figures: seconds and reports shown.
Then the same as a user runs it: the whole ``ai-roi team org`` command on a SQLite file holding
such an organisation, beside ``ai-roi facts`` (the same start-up, one person's numbers) as the
baseline of the same run.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bot.domain.privacy import Candidate, decide_week, tool_row, total_row

TOOLS = ("chatgpt", "claude", "cursor", "copilot")


def organisation(people: int, *, cross: bool, seed: int = 1) -> list[Candidate]:
    """Every group of a synthetic organisation as a candidate report, everyone active."""
    rnd = random.Random(seed)
    everyone = list(range(1, people + 1))
    tools = {p: rnd.sample(TOOLS, rnd.randint(1, 3)) for p in everyone}
    teams: list[list[int]] = []
    start = 0
    while start < people:
        size = rnd.randint(4, 12)
        teams.append(everyone[start : start + size])
        start += size
    groups = [(f"team:{i}", members) for i, members in enumerate(teams)]
    groups += [
        (f"department:{i // 4}", [p for team in teams[i : i + 4] for p in team])
        for i in range(0, len(teams), 4)
    ]
    if cross:
        groups += [
            (f"usergroup:{i}", rnd.sample(everyone, rnd.randint(5, 20)))
            for i in range(len(teams) // 3)
        ]
    groups.append(("org", everyone))
    candidates = []
    for cell, members in groups:
        users: dict[str, set[int]] = {}
        for person in members:
            for tool in tools[person]:
                users.setdefault(tool, set()).add(person)
        candidates.append(
            Candidate(
                cell=cell,
                active=frozenset(members),
                total=total_row(members, tools),
                tools={tool: tool_row(who, tool) for tool, who in users.items()},
            )
        )
    return candidates


def timed(work: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    return best, result


def in_process(people: int, k: int, repeat: int) -> None:
    """The decision alone, for each organisation shape."""
    print(
        f"{'people':>7} {'groups':>7} {'cross':>6} {'decide s':>9} {'shown':>6} {'tool lines':>11}"
    )
    for cross in (False, True):
        candidates = organisation(people, cross=cross)

        def decide(candidates: list[Candidate] = candidates) -> object:
            return decide_week([], candidates, k)

        seconds, decision = timed(decide, repeat)
        cells = decision.cells  # type: ignore[attr-defined]
        print(
            f"{people:>7} {len(candidates):>7} {'yes' if cross else 'no':>6} {seconds:>9.3f} "
            f"{sum(c.shown for c in cells.values()):>6} {sum(c.breakdown for c in cells.values()):>11}"
        )


def whole_command(people: int) -> None:
    """``ai-roi team org --json`` as a user runs it, on a SQLite file holding the organisation
    (with its cross-team groups as extra teams): the first call decides the week; beside it, in
    the same run, ``ai-roi facts --user … --json`` (the same start-up, one person's facts) as the
    baseline, and the second call of the same report."""
    rnd = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{root / 'bench.db'}",
            "ORG_TIMEZONE": "UTC",
            "DIGEST_DELIVERY": "console",
        }
        teams: dict[int, list[str]] = {}
        team, left = 0, 0
        for person in range(1, people + 1):
            if not left:
                team, left = team + 1, rnd.randint(4, 12)
            teams.setdefault(person, []).append(f"team-{team}")
            left -= 1
        for group in range(team // 3):
            for person in rnd.sample(range(1, people + 1), rnd.randint(5, 20)):
                teams[person].append(f"usergroup-{group}")
        with (root / "people.csv").open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["email", "name", "team"])
            for person, names in teams.items():
                writer.writerow([f"p{person}@example.com", f"Person {person}", ";".join(names)])
        with (root / "events.ndjson").open("w") as out:
            for person in teams:
                for tool in rnd.sample(TOOLS, rnd.randint(1, 3)):
                    event = {
                        "id": f"bench-{person}-{tool}",
                        "type": "ai.usage",
                        "occurred_at": "2026-11-17T10:00:00Z",
                        "actor": {"email": f"p{person}@example.com"},
                        "tool": tool,
                        "usage": {"input_tokens": 1000, "output_tokens": 200, "requests": 1},
                    }
                    out.write(json.dumps(event) + "\n")

        def run(*argv: str) -> float:
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "bot", *argv], env=env, check=True, capture_output=True
            )
            return time.perf_counter() - started

        setup = run("directory", "import", str(root / "people.csv"))
        setup += run("ingest", "--source", "usage", str(root / "events.ndjson"))
        baseline = run("facts", "--user", "p1@example.com", "--week", "2026-W47", "--json")
        first = run("team", "org", "--week", "2026-W47", "--json")
        again = run("team", "org", "--week", "2026-W47", "--json")
        print(
            f"{people:>7} people, {team} teams and {team // 3} user groups (set-up {setup:.1f} s): "
            f"ai-roi team org first {first:.2f} s, again {again:.2f} s; "
            f"baseline ai-roi facts {baseline:.2f} s; first/baseline {first / baseline:.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (in process)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; k = {args.k}")
    print("The decision of a week, in process:")
    for people in args.people:
        in_process(people, args.k, args.repeat)
    print("As a user runs it (whole commands, SQLite):")
    for people in args.people:
        whole_command(people)


if __name__ == "__main__":
    main()
