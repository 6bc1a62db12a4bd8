"""Run the demo end to end on a fresh embedded SQLite database."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TextIO

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.demo.synthetic import DemoOrg, generate
from bot.demo.vendor_formats import litellm_payload, via_gateway
from bot.digest.deliverers import ConsoleDeliverer
from bot.digest.run import DigestOutcome
from bot.domain.directory import parse_directory
from bot.domain.team_render import ORG, render_text
from bot.domain.weeks import Week, last_complete_week
from bot.ingest.bulk import ingest_in_batches
from bot.slack.digest_delivery import run_digest
from bot.store.db import create_engine, transaction, upgrade
from bot.store.directory import apply_directory
from bot.store.models import Person
from bot.store.team_aggregates import all_teams
from bot.teams.report import Viewer, min_group_size, team_reports

DEMO_DATABASE = Path("var") / "demo.db"
ON_SCREEN = 3  # digests printed in full; all of them go to the digests file

NEXT_STEPS = """\
Next: connect Slack so these go out as private DMs.
  1. Create an app at https://api.slack.com/apps → "From a manifest" → paste manifest.yml
     (replace ai-roi.example.com with your public host).
  2. Install it to your workspace; copy the Bot token and Signing secret into .env
     (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET; see .env.example).
  3. Run `ai-roi serve`, point your AI gateway at POST /webhooks/{source}.
"""


def fresh_database(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def team_reports_text(
    engine: Engine, team_names: list[str], week: Week, tz: tzinfo, now: datetime
) -> str:
    """What a lead sees with /ai-roi for each team (here as an admin would see them)."""
    with transaction(engine) as session:
        reports = team_reports(
            session,
            viewer=Viewer.cli(),
            team_names=team_names,
            week=week,
            weeks=1,
            tz=tz,
            k=min_group_size(session),
            now=now,
        )
    return "\n\n".join(render_text(report) for report in reports)


def _shown_on_screen(org: DemoOrg, outcomes: list[DigestOutcome]) -> list[DigestOutcome]:
    """A few delivered digests, each of another persona (the first by email): the range of what
    people read, on one screen."""
    persona = {p.email: p.persona for p in org.people}
    seen: set[str] = set()
    shown = []
    for outcome in outcomes:
        kind = persona.get(outcome.email, "")
        if outcome.status == "sent" and outcome.text and kind not in seen:
            seen.add(kind)
            shown.append(outcome)
    return shown[:ON_SCREEN]


def _dm_text(outcome: DigestOutcome) -> str:
    rule = "─" * 72
    return f"{rule}\nDM to {outcome.name} <{outcome.email}>\n{rule}\n{outcome.text}\n"


def run_demo(
    *, seed: int, now: datetime, tz: tzinfo, out: TextIO, database: Path = DEMO_DATABASE
) -> int:
    """Run the demo: every digest and team report goes to ``digests_file(database)``; ``out``
    gets a sample of the digests and the organisation's week, on one screen. Digests are
    delivered to the file, so a closed ``out`` (``ai-roi demo | head``) fails no digest: the
    ``BrokenPipeError`` reaches the command line, which ends quietly."""
    engine = create_engine(fresh_database(database))
    try:
        return _run(engine, seed=seed, now=now, tz=tz, screen=out, database=database)
    finally:
        engine.dispose()


def digests_file(database: Path) -> Path:
    return database.with_name(f"{database.stem}-digests.txt")


def _run(
    engine: Engine,
    *,
    seed: int,
    now: datetime,
    tz: tzinfo,
    screen: TextIO,
    database: Path,
) -> int:
    upgrade(engine)
    week = last_complete_week(now, tz)
    org = generate(seed, week)

    directory = parse_directory(org.directory_csv())
    with transaction(engine) as session:
        apply_directory(session, directory.rows)

    gateway = [litellm_payload(e) for e in org.events if via_gateway(e)]
    generic = [e for e in org.events if not via_gateway(e)]
    litellm = ingest_in_batches(
        engine, "litellm", json.dumps(gateway).encode(), "application/json", now=now
    )
    outcome = ingest_in_batches(
        engine, "usage", json.dumps({"events": generic}).encode(), "application/json", now=now
    )
    teams = Counter(p.team for p in org.people)
    screen.write(
        f"ai-roi demo (seed {seed}) on {database}\n"
        f"Organisation: {len(org.people)} people in {len(teams)} teams "
        f"({', '.join(f'{t} {n}' for t, n in teams.items())}), weeks {org.weeks[0]}…{org.weeks[-1]}.\n"
        f"Ingested through the webhook pipeline: {litellm.accepted} LiteLLM gateway records "
        f"(StandardLoggingPayload) and {outcome.accepted} generic events "
        f"({outcome.duplicates + litellm.duplicates} duplicates, "
        f"{len(outcome.rejected) + len(litellm.rejected)} rejected).\n\n"
    )
    with Session(engine) as session:
        people = list(session.exec(select(Person).order_by(Person.email)).all())
        team_names = [team.name for team in all_teams(session)]
    listing = digests_file(database)
    with listing.open("w", encoding="utf-8") as everything:
        everything.write(f"Weekly digests for {week} ({week.label()}), console delivery:\n\n")
        outcomes = run_digest(
            engine, people, week=week, tz=tz, deliverer=ConsoleDeliverer(everything), now=now
        )
        for outcome_ in outcomes:
            if outcome_.status == "skipped":
                everything.write(
                    f"(no DM for {outcome_.name} <{outcome_.email}>: {outcome_.reason})\n"
                )
        everything.write(
            "\nTeam reports (what each lead sees with /ai-roi; no names, no ranking):\n\n"
            f"{team_reports_text(engine, team_names, week, tz, now)}\n"
        )
    counts = Counter(o.status for o in outcomes)
    shown = _shown_on_screen(org, outcomes)
    screen.write(
        f"Weekly digests for {week} ({week.label()}): {len(shown)} of the {counts['sent']} "
        f"previewed, as their recipients would read them:\n\n"
    )
    for outcome_ in shown:
        screen.write(_dm_text(outcome_) + "\n")
    screen.write(
        f"{counts['sent']} digests previewed on the console (nothing is sent without Slack), "
        f"{counts['skipped']} skipped (no AI activity), {counts['failed']} failed. "
        "Each digest holds only its recipient's numbers.\n"
        f"Every digest and each team's report: {listing}\n\n"
        "The organisation's week (aggregates only; nobody is named or ranked):\n\n"
        f"{team_reports_text(engine, [ORG], week, tz, now)}\n"
    )
    screen.write(f"\n{NEXT_STEPS}")
    return 1 if counts["failed"] else 0
