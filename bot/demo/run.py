"""Run the demo end to end on a fresh embedded SQLite database."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TextIO

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.demo.synthetic import generate
from bot.demo.vendor_formats import litellm_payload, via_gateway
from bot.digest.deliverers import ConsoleDeliverer
from bot.domain.directory import parse_directory
from bot.domain.team_render import render_text
from bot.domain.weeks import Week, last_complete_week
from bot.ingest.bulk import ingest_in_batches
from bot.slack.digest_delivery import run_digest
from bot.store.db import create_engine, transaction, upgrade
from bot.store.directory import apply_directory
from bot.store.models import Person
from bot.store.team_aggregates import all_teams
from bot.teams.report import Viewer, min_group_size, team_reports

DEMO_DATABASE = Path("var") / "demo.db"

NEXT_STEPS = """\
Next: connect Slack so these go out as private DMs.
  1. Create an app at https://api.slack.com/apps → "From a manifest" → paste manifest.yml
     (replace ai-roi.example.com with your public host).
  2. Install it to your workspace; copy the Bot token and Signing secret into .env
     (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET; see .env.example).
  3. Run `ai-roi serve`, point your AI gateway at POST /webhooks/{source}.
"""


def fresh_database(path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def team_reports_text(engine: Engine, week: Week, tz: tzinfo, now: datetime) -> str:
    """What a lead sees with /ai-roi for each team (printed here as an admin would see them)."""
    with transaction(engine) as session:
        reports = team_reports(
            session,
            viewer=Viewer.cli(),
            team_names=[team.name for team in all_teams(session)],
            week=week,
            weeks=1,
            tz=tz,
            k=min_group_size(session),
            now=now,
        )
    sections = "\n\n".join(render_text(report) for report in reports)
    return f"Team reports (what each lead sees with /ai-roi; no names, no ranking):\n\n{sections}\n"


def run_demo(
    *, seed: int, now: datetime, tz: tzinfo, out: TextIO, database: Path = DEMO_DATABASE
) -> int:
    engine = create_engine(fresh_database(database))
    try:
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
        out.write(
            f"ai-roi demo (seed {seed}) on {database}\n"
            f"Organisation: {len(org.people)} people in {len(teams)} teams "
            f"({', '.join(f'{t} {n}' for t, n in teams.items())}), weeks {org.weeks[0]}…{org.weeks[-1]}.\n"
            f"Ingested through the webhook pipeline: {litellm.accepted} LiteLLM gateway records "
            f"(StandardLoggingPayload) and {outcome.accepted} generic events "
            f"({outcome.duplicates + litellm.duplicates} duplicates, "
            f"{len(outcome.rejected) + len(litellm.rejected)} rejected).\n\n"
            f"Weekly digests for {week} ({week.label()}), console delivery:\n\n"
        )
        with Session(engine) as session:
            people = list(session.exec(select(Person).order_by(Person.email)).all())
        outcomes = run_digest(
            engine, people, week=week, tz=tz, deliverer=ConsoleDeliverer(out), now=now
        )
        for outcome_ in outcomes:
            if outcome_.status == "skipped":
                out.write(f"(no DM for {outcome_.name} <{outcome_.email}>: {outcome_.reason})\n")
        counts = Counter(o.status for o in outcomes)
        out.write(
            f"\n{counts['sent']} digests delivered, {counts['skipped']} skipped, "
            f"{counts['failed']} failed. Each person saw only their own numbers.\n\n"
        )
        out.write(team_reports_text(engine, week, tz, now))
        out.write(f"\n{NEXT_STEPS}")
        return 1 if counts["failed"] else 0
    finally:
        engine.dispose()
