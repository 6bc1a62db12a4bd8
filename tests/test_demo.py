"""The demo: a synthetic organisation through the real pipeline, every digest printed."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.demo.run import ON_SCREEN, digests_file, run_demo
from bot.demo.synthetic import generate
from bot.digest.weekly_facts import facts_for
from bot.domain.weeks import Week
from bot.store.db import create_engine
from bot.store.models import Delivery
from bot.store.people import person_by_email

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]


def test_synthetic_org_is_big_enough_and_deterministic() -> None:
    org = generate(7, Week(2026, 47))
    assert len(org.people) >= 30
    assert len({p.team for p in org.people}) >= 4
    assert len(org.weeks) == 5
    personas = Counter(p.persona for p in org.people)
    assert {"prolific", "focused", "light", "non_user"} <= set(personas)
    assert json.dumps(generate(7, Week(2026, 47)).events) == json.dumps(org.events)
    assert json.dumps(generate(8, Week(2026, 47)).events) != json.dumps(org.events)


def test_demo_delivers_every_persons_digest_with_their_numbers(tmp_path: Path) -> None:
    out = io.StringIO()
    database = tmp_path / "demo.db"
    assert run_demo(seed=7, now=NOW, tz=ZoneInfo("UTC"), out=out, database=database) == 0
    printed = out.getvalue()
    everything = digests_file(database).read_text()
    org = generate(7, Week(2026, 47))
    engine = create_engine(f"sqlite:///{database}")
    try:
        with Session(engine) as session:
            for person in org.people:
                facts = facts_for(
                    session, person_by_email(session, person.email), Week(2026, 47), ZoneInfo("UTC")
                )
                if person.persona == "non_user":
                    assert (
                        f"no DM for {person.name} <{person.email}>: no AI activity this week"
                        in everything
                    )
                    continue
                section = everything.split(f"DM to {person.name} <{person.email}>", 1)[1]
                section = section.split("DM to ", 1)[0]
                expected = (
                    f"Artifacts: {facts.artifacts_created} created, {facts.artifacts_viewed_by_others} "
                    f"opened by others"
                )
                assert expected in section
                if f"DM to {person.name} <" in printed:  # shown on screen as it was delivered
                    shown = printed.split(f"DM to {person.name} <{person.email}>", 1)[1]
                    assert shown.split("DM to ", 1)[0].split("\n\n", 1)[0] in section
    finally:
        engine.dispose()
    shown = [p for p in org.people if f"DM to {p.name} <{p.email}>" in printed]
    assert len(shown) == ON_SCREEN and len({p.persona for p in shown}) == ON_SCREEN
    delivered = sum(1 for p in org.people if p.persona != "non_user")
    assert f"{delivered} digests previewed on the console" in printed and "0 failed" in printed
    assert "LiteLLM gateway records" in printed and "0 rejected" in printed
    teams = everything.split("Team reports", 1)[1]
    assert teams.count("Team report: ") == 4
    summary = printed.split("The organisation's week", 1)[1].split("Next: connect Slack", 1)[0]
    assert summary.count("Team report: ") == 1 and "the organisation" in summary
    for text in (teams, summary):
        assert not any(p.email in text or p.name in text for p in org.people)  # aggregates only
    assert "manifest.yml" in printed  # how to connect Slack
    again = io.StringIO()
    run_demo(seed=7, now=NOW, tz=ZoneInfo("UTC"), out=again, database=database)
    assert again.getvalue() == printed


class _ClosedPipe(io.StringIO):
    """A standard output whose reader went away after ``limit`` writes (``ai-roi demo | head``)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def write(self, text: str) -> int:
        if self.limit <= 0:
            raise BrokenPipeError(32, "Broken pipe")
        self.limit -= 1
        return super().write(text)


def test_a_closed_pipe_stops_the_output_without_failing_a_digest(tmp_path: Path) -> None:
    database = tmp_path / "demo.db"
    with pytest.raises(BrokenPipeError):
        run_demo(seed=7, now=NOW, tz=ZoneInfo("UTC"), out=_ClosedPipe(1), database=database)
    engine = create_engine(f"sqlite:///{database}")
    try:
        with Session(engine) as session:
            statuses = set(session.exec(select(Delivery.status)).all())
    finally:
        engine.dispose()
    assert statuses <= {"preview", "skipped"} and "preview" in statuses  # console = preview


def test_demo_piped_into_head_ends_quietly(tmp_path: Path) -> None:
    """A real pipe closed early: no traceback, the exit status a shell expects from SIGPIPE."""
    shell = subprocess.run(
        f"{sys.executable} -m bot demo --as-of 2026-11-25 | head -n 2; exit ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        cwd=tmp_path,
        # Unbuffered, so the header reaches `head` before the rest is written, as on a terminal.
        env={"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert shell.stdout.startswith("ai-roi demo (seed 42)") and len(shell.stdout.splitlines()) == 2
    assert shell.stderr == "" and shell.returncode == 141


def readme_demo_block() -> tuple[str, str]:
    """The README's demo session: the command it shows, and the output it claims."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = section.split("```console\n", 1)[1].split("```", 1)[0]
    command, _, output = block.partition("\n")
    return command.removeprefix("$ "), output


def test_the_readme_shows_what_the_demo_really_prints(tmp_path: Path) -> None:
    command, claimed = readme_demo_block()
    assert command == "ai-roi demo --as-of 2026-11-25"
    out = io.StringIO()
    as_of = datetime(2026, 11, 25, tzinfo=UTC)
    database = tmp_path / "var" / "demo.db"  # never the developer's own demo database
    assert run_demo(seed=42, now=as_of, tz=ZoneInfo("UTC"), out=out, database=database) == 0
    # `make demo` runs from the repository, so it prints the paths relative to it.
    assert out.getvalue().replace(f"{tmp_path}/", "") == claimed
