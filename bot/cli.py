"""The ``ai-roi`` command: parses arguments, builds what a command needs, formats the result.

Exit codes: 0 success, 2 usage error, 1 failure with a one-line reason on stderr.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, TextIO

from bot import __version__
from bot.errors import AiRoiError, UsageError

if TYPE_CHECKING:
    from bot.connectors.runner import SourceOutcome
    from bot.connectors.status import SourceOverview
    from bot.context import AppContext
    from bot.domain.weeks import Week
    from bot.ingest.pipeline import IngestOutcome
    from bot.settings import Settings

log = logging.getLogger("bot")
Command = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        command = self.prog.removeprefix("ai-roi").strip()
        where = f"{command}: " if command else ""
        raise UsageError(f"{where}{message} (see `{self.prog} --help`)")


def _epilog() -> str:
    from bot.domain.directory import IDENTITY_COLUMNS
    from bot.ingest.adapters import ADAPTERS

    return f"""\
sources (ai-roi ingest --source, POST /webhooks/SOURCE; "usage" is the generic event schema):
  {", ".join(sorted(ADAPTERS))}

directory CSV columns (ai-roi directory import):
  email (required), name, team and lead_of (team names, ';'-separated),
  identities: {", ".join(IDENTITY_COLUMNS)}

settings: environment variables or a .env file (see .env.example); DATABASE_URL defaults to
  the embedded SQLite database var/ai-roi.db, which any command migrates on first use.

examples:
  ai-roi demo                                   a synthetic organisation, digests on the console
  ai-roi directory import people.csv            who is who, teams and leads
  ai-roi ingest --source litellm export.json    backfill through the webhook pipeline
  ai-roi facts --user ana@example.com           the numbers of Ana's last complete week
  ai-roi digest --dry-run                       preview this week's digests, send nothing
  WEBHOOK_TOKENS=… ai-roi serve --port 3000     webhooks, Slack and the weekly schedule

exit codes: 0 success, 1 failure (one line on stderr), 2 usage error
"""


def _week_arg(text: str) -> str:
    from bot.domain.weeks import parse_week

    try:
        return str(parse_week(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _date_arg(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ai-roi",
        description="Private weekly feedback on AI use, in Slack.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ai-roi {__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    serve = commands.add_parser("serve", help="run the HTTP server and the scheduler")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: $PORT or 3000")
    serve.set_defaults(handler=cmd_serve)

    demo = commands.add_parser(
        "demo", help="synthetic organisation, real pipeline, digests on the console"
    )
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--as-of", default=None, help="pretend today is this date (YYYY-MM-DD)")
    demo.set_defaults(handler=cmd_demo)

    digest = commands.add_parser("digest", help="build and deliver weekly digests now (idempotent)")
    digest.add_argument(
        "--week", type=_week_arg, default=None, help="ISO week, default: last complete week"
    )
    digest.add_argument("--user", default=None, help="only this person's digest (email)")
    digest.add_argument(
        "--dry-run", action="store_true", help="print, deliver nothing, record nothing"
    )
    digest.add_argument(
        "--resend",
        action="store_true",
        help="send --user's digest for --week again, even if it went out (admin repair, audited)",
    )
    digest.set_defaults(handler=cmd_digest)

    facts = commands.add_parser("facts", help="the facts one digest is built from")
    facts.add_argument("--user", required=True, help="email")
    facts.add_argument(
        "--week", type=_week_arg, default=None, help="ISO week, default: last complete week"
    )
    facts.add_argument("--json", action="store_true")
    facts.set_defaults(handler=cmd_facts)

    team = commands.add_parser("team", help="a team's aggregates, under the same privacy rules")
    team.add_argument("team", metavar="TEAM", help="team name, or 'org' for the organisation")
    team.add_argument(
        "--week", type=_week_arg, default=None, help="ISO week, default: last complete week"
    )
    team.add_argument("--weeks", type=int, default=1, help="how many weeks up to --week (1-12)")
    team.add_argument("--json", action="store_true")
    team.set_defaults(handler=cmd_team)

    ingest = commands.add_parser(
        "ingest",
        help="import events from files through the ingest pipeline",
        description=(
            "Import events from files through the ingest pipeline, committing every batch. "
            "NDJSON (one record per line: .ndjson/.jsonl, or detected from the first lines) and "
            "a top-level JSON array of records are read a record at a time, so a file of any "
            'size needs little memory: for usage (also {"events": [...]}), litellm and '
            "copilot. Other sources' files are read a document at a time, as their vendors "
            "send them. A file that breaks off keeps the records before the break; running the "
            "same import again stores nothing twice."
        ),
    )
    ingest.add_argument(
        "--source",
        required=True,
        help="usage (generic schema) or a vendor source; see `ai-roi --help` for the list",
    )
    ingest.add_argument("files", nargs="+", metavar="FILE", help="'-' reads standard input")
    ingest.add_argument(
        "--batch-size", type=int, default=None, help="records per transaction (default 5,000)"
    )
    ingest.set_defaults(handler=cmd_ingest)

    pull = commands.add_parser(
        "pull", help="run the pull connectors now (all configured ones, or those named)"
    )
    pull.add_argument("sources", nargs="*", metavar="SOURCE", help="openai, anthropic, …")
    pull.add_argument(
        "--since", type=_date_arg, default=None, help="first day to fetch (backfill), YYYY-MM-DD"
    )
    pull.add_argument(
        "--until", type=_date_arg, default=None, help="last day to fetch, default today"
    )
    pull.set_defaults(handler=cmd_pull)

    sources = commands.add_parser(
        "sources",
        help="per source: configured, last success, watermark and lag, last error, "
        "identities not mapped to anyone yet",
    )
    sources.add_argument("--json", action="store_true")
    sources.set_defaults(handler=cmd_sources)

    rules = commands.add_parser(
        "rules", help="the AI-assisted rules: kind, pattern, tool, on or off, artifacts marked"
    )
    rules.add_argument("--json", action="store_true")
    rules.set_defaults(handler=cmd_rules)

    directory = commands.add_parser("directory", help="the people directory")
    directory_commands = directory.add_subparsers(
        dest="directory_command", required=True, parser_class=_Parser
    )
    directory_import = directory_commands.add_parser(
        "import",
        help="upsert people, teams, leads, identities",
        description="Upsert people, teams, leads and vendor identities from a CSV file. Columns: "
        "email (required), name, team, lead_of (';'-separated team names), "
        "openai_user_id, anthropic_account_id, github_login, slack_user_id, datadog_handle.",
    )
    directory_import.add_argument("file", metavar="FILE.csv")
    directory_import.set_defaults(handler=cmd_directory_import)
    directory_sync = directory_commands.add_parser(
        "sync-slack", help="people, time zones and user-group teams from Slack (users.list)"
    )
    directory_sync.set_defaults(handler=cmd_directory_sync_slack)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    db_upgrade = db_commands.add_parser("upgrade", help="apply migrations")
    db_upgrade.set_defaults(handler=cmd_db_upgrade)
    db_purge = db_commands.add_parser(
        "purge", help="delete raw events older than the retention period (weekly totals stay)"
    )
    db_purge.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    db_purge.set_defaults(handler=cmd_db_purge)

    forget = commands.add_parser("forget", help="erase a person's data everywhere")
    forget.add_argument("--user", required=True, help="email")
    forget.set_defaults(handler=cmd_forget)
    return parser


# Commands ---------------------------------------------------------------------------------


@contextmanager
def _context() -> Iterator[AppContext]:
    """Settings and database for one command; connections are closed when it ends."""
    from bot.observability.logs import configure_logging
    from bot.store.db import ensure_ready
    from bot.wiring import build_context

    context = build_context()
    configure_logging(fmt=context.settings.log_format)  # WARNING and up, in the chosen format
    try:
        ensure_ready(context.engine)
        yield context
    finally:
        context.engine.dispose()


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.wiring import serve

    return serve(host=args.host, port=args.port)


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo.run import run_demo
    from bot.settings import load_settings

    settings = load_settings()
    now = datetime.now(UTC)
    if args.as_of:
        try:
            now = (
                datetime.fromisoformat(args.as_of).replace(tzinfo=settings.timezone).astimezone(UTC)
            )
        except ValueError:
            raise UsageError(
                f"--as-of must be a date such as 2026-11-25, not {args.as_of!r}"
            ) from None
    return run_demo(seed=args.seed, now=now, tz=settings.timezone, out=sys.stdout)


def _week(args: argparse.Namespace, context: AppContext) -> Week:
    from bot.domain.weeks import last_complete_week, parse_week

    if args.week:
        return parse_week(args.week)
    return last_complete_week(context.clock(), context.settings.timezone)


def cmd_facts(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from bot.digest.weekly_facts import facts_for
    from bot.store.people import person_by_email

    with _context() as context, Session(context.engine) as session:
        week = _week(args, context)
        person = person_by_email(session, args.user)
        facts = facts_for(session, person, week, context.settings.timezone)
    if args.json:
        print(json.dumps(facts.to_json(), indent=2, sort_keys=False))
    else:
        print(format_facts(facts.to_json()))
    return 0


def format_facts(data: dict) -> str:  # type: ignore[type-arg]
    tokens = data["tokens"]
    artifacts = data["artifacts"]
    lines = [
        f"{data['user']} · {data['week']}",
        f"  tokens     input {tokens['input']:,} (cached {tokens['cached']:,}) · output {tokens['output']:,}",
        f"  cost       {_money(data['cost_usd'])} over {data['requests']:,} requests",
        f"  artifacts  {artifacts['created']} created · {artifacts['viewed_by_others']} viewed by others"
        f" · {artifacts['used']} used · {artifacts['viewers']} distinct viewers",
    ]
    for kind, counts in artifacts["by_kind"].items():
        lines.append(
            f"    {kind:<13}{counts['created']} created · {counts['viewed_by_others']} viewed by others"
            f" · {counts['used']} used"
        )
    ai = artifacts.get("ai")
    if ai is None:
        pass  # facts from before AI-assisted marks
    elif ai["marks_in_org"]:
        lines.append(
            f"  AI-assisted  {ai['created']} created · {ai['viewed_by_others']} viewed by others"
            f" · {ai['used']} used"
        )
        for kind, counts in ai["by_kind"].items():
            lines.append(
                f"    {kind:<13}{counts['created']} created · {counts['viewed_by_others']}"
                f" viewed by others · {counts['used']} used"
            )
    else:
        lines.append(
            "  AI-assisted no source or rule marks any artifact yet: the counts above are all"
        )
    for tool, usage in data["by_tool"].items():
        lines.append(
            f"  tool       {tool}: {usage['tokens']:,} tokens, {_money(usage['cost_usd'])}"
        )
    baseline = data["baseline"]
    lines.append(
        f"  baseline   median {baseline['tokens_median']:,} tokens over {baseline['weeks']} weeks"
    )
    return "\n".join(lines)


def _money(cost_usd: str) -> str:
    from bot.domain.money import format_money
    from bot.domain.units import usd_to_nanos

    return format_money(usd_to_nanos(cost_usd))


def cmd_team(args: argparse.Namespace) -> int:
    from bot.domain.team_render import render_text, report_json
    from bot.store.db import transaction
    from bot.teams.report import Viewer, min_group_size, team_report

    with _context() as context, transaction(context.engine) as session:
        report = team_report(
            session,
            viewer=Viewer.cli(),
            team_name=args.team,
            week=_week(args, context),
            weeks=args.weeks,
            tz=context.settings.timezone,
            k=min_group_size(session),
            now=context.clock(),
        )
    print(json.dumps(report_json(report), indent=2) if args.json else render_text(report))
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    from bot.digest.service import digest_now, resend
    from bot.observability.progress import tty_progress
    from bot.slack.digest_delivery import deliverer_for, render_digest

    if args.resend and (not args.user or args.dry_run):
        raise UsageError("--resend needs --user EMAIL and cannot be a --dry-run")
    with _context() as context:
        week = _week(args, context)
        deliverer = deliverer_for(context, sys.stdout)
        if args.resend:
            resent = resend(
                context,
                email=args.user,
                week=week,
                deliverer=deliverer,
                render=render_digest,
                actor="cli",
            )
            print(f"{week}: resent to {resent.email} ({deliverer.channel}); audited")
            return 0
        progress = tty_progress(sys.stderr, "people") if sys.stderr.isatty() else None
        run = digest_now(
            context,
            week=week,
            user=args.user,
            dry_run=args.dry_run,
            deliverer=deliverer,
            render=render_digest,
            progress=progress,
        )
    completeness = run.completeness
    late = ", ".join(completeness.late) or "no source has sent anything yet"
    if run.waiting and not args.dry_run:
        print(
            f"{week}: waiting for the week's data ({late}); digests go out when it is in, "
            f"or at {completeness.deadline:%Y-%m-%d %H:%M} UTC naming the late sources"
        )
        return 0
    if not completeness.final:
        print(f"{week}: data incomplete ({late}); digests say which sources are late")
    outcomes = run.outcomes
    for outcome in outcomes:
        if outcome.status == "preview" and outcome.text:
            print(f"── {outcome.name} <{outcome.email}> (dry run, not sent)\n{outcome.text}\n")
        elif outcome.status not in ("sent",):
            print(
                f"{outcome.email}: {outcome.status}{f' ({outcome.reason})' if outcome.reason else ''}"
            )
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    summary = (
        ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nobody to send to"
    )
    print(f"{week}: {summary}")
    return 1 if counts.get("failed") else 0


def _progress(stream: TextIO) -> Callable[[int, float | None], None]:
    done = 0

    def advance(step: int, fraction: float | None) -> None:
        nonlocal done
        done += step
        if fraction is None:  # standard input: no size to measure against
            stream.write(f"\r{done:,} records")
        else:
            width = 30
            filled = round(width * fraction)
            stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,} records")
            if fraction >= 1:
                stream.write("\n")
        stream.flush()

    return advance


@contextmanager
def _open_input(name: str) -> Iterator[tuple[IO[bytes], int | None]]:
    """The file (standard input for ``-``), open for reading, and its size when known."""
    if name == "-":
        try:
            descriptor = sys.stdin.fileno()
        except (AttributeError, OSError, ValueError):  # no descriptor: already in memory
            body = sys.stdin.buffer.read()
            yield io.BytesIO(body), len(body)
            return
        # A descriptor of its own: a process parsing the file closes its ``sys.stdin``.
        with open(os.dup(descriptor), "rb") as stream:
            status = os.fstat(stream.fileno())
            yield stream, status.st_size if stat.S_ISREG(status.st_mode) else None
        return
    path = Path(name)
    if not path.is_file():
        raise AiRoiError(f"{name}: no such file")
    with path.open("rb") as stream:
        yield stream, path.stat().st_size


def cmd_ingest(args: argparse.Namespace) -> int:
    from bot.ingest.adapters import adapter_for

    adapter_for(args.source)
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    with _context() as context:
        return _ingest_files(context, args)


def _ingest_files(context: AppContext, args: argparse.Namespace) -> int:
    import gc

    from bot.ingest.bulk import BATCH_SIZE, ImportStopped, ingest_file, sniffed

    gc.freeze()  # what is loaded by now lasts as long as the command: not walked by collections
    total_accepted = total_duplicates = total_rejected = 0
    for name in args.files:
        with _open_input(name) as (stream, size):
            content_type, stream = sniffed(name, stream)
            try:
                outcome = ingest_file(
                    context.engine,
                    args.source,
                    stream,
                    content_type,
                    size=size,
                    now=context.clock(),
                    batch_size=args.batch_size or BATCH_SIZE,
                    progress=_progress(sys.stderr) if sys.stderr.isatty() else None,
                )
            except ImportStopped as exc:
                _print_outcome(name, exc.outcome)
                raise AiRoiError(f"{name}: {exc}") from None
        _print_outcome(name, outcome)
        total_accepted += outcome.accepted
        total_duplicates += outcome.duplicates
        total_rejected += len(outcome.rejected)
    if len(args.files) > 1:
        print(
            f"total: {total_accepted} accepted, {total_duplicates} duplicates, {total_rejected} rejected"
        )
    return 1 if total_rejected else 0


def _print_outcome(name: str, outcome: IngestOutcome) -> None:
    for rejection in outcome.rejected:
        print(f"{name}: event {rejection.index} rejected: {rejection.error}", file=sys.stderr)
    print(
        f"{name}: {outcome.accepted} accepted, {outcome.duplicates} duplicates, "
        f"{len(outcome.rejected)} rejected"
    )


def cmd_pull(args: argparse.Namespace) -> int:
    from bot.connectors.runner import pull_source, select_connectors

    if args.since and args.until and args.since > args.until:
        raise UsageError("--since must not be after --until")
    with _context() as context:
        connectors = select_connectors(context, args.sources)
        if not connectors:
            print("no pull source is configured (set OPENAI_ADMIN_KEY, ANTHROPIC_ADMIN_KEY, …)")
            return 0
        progress = _pull_progress(sys.stderr) if sys.stderr.isatty() else None
        outcomes: list[SourceOutcome] = []
        for connector in connectors:
            outcome = pull_source(
                context, connector, since=args.since, until=args.until, progress=progress
            )
            outcomes.append(outcome)
            print(outcome.summary())
            for rejection in outcome.rejections:
                print(f"{outcome.source}: a record was rejected: {rejection}", file=sys.stderr)
    failed = [o.source for o in outcomes if not o.ok]
    print(
        f"{len(outcomes) - len(failed)} of {len(outcomes)} sources pulled"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


def _pull_progress(stream: TextIO) -> Callable[[str, int], None]:
    def advance(source: str, pages: int) -> None:
        stream.write(f"\r{source}: {pages:,} page{'' if pages == 1 else 's'} stored")
        stream.flush()

    return advance


def cmd_sources(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from bot.connectors.status import source_overview

    with _context() as context, Session(context.engine) as session:
        overview = source_overview(session, context.settings, now=context.clock())
    if args.json:
        print(json.dumps([_source_json(o) for o in overview], indent=2))
    else:
        print(format_sources(overview))
    return 0


def cmd_rules(args: argparse.Namespace) -> int:
    """The AI-assisted rules in the order they are tried (edited in the admin App Home)."""
    from sqlmodel import Session

    from bot.domain.ai_rules import PULL_REQUEST_KINDS, RULE_KIND_LABELS
    from bot.store import ai_rules

    with _context() as context, Session(context.engine) as session:
        rules = ai_rules.list_rules(session)
        marked = ai_rules.marked_counts(session)
    rows = [
        {
            "id": rule.id,
            "applies_to": "pull_requests"
            if rule.kind in PULL_REQUEST_KINDS
            else "dashboards_and_documents",
            "kind": rule.kind.value,
            "pattern": rule.pattern,
            "tool": rule.tool,
            "builtin": rule.builtin,
            "enabled": rule.enabled,
            "marks": marked.get(rule.id or 0, 0),
        }
        for rule in rules
    ]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    print(
        f"{'id':>4}  {'on':<3}  {'origin':<8}  {'looks at':<33}  {'pattern':<30}  {'tool':<14}  marks"
    )
    for row, rule in zip(rows, rules, strict=True):
        pattern = json.dumps(rule.pattern, ensure_ascii=False)  # quoted: spaces and controls show
        print(
            f"{rule.id or 0:>4}  {'on' if rule.enabled else 'off':<3}  "
            f"{'built-in' if rule.builtin else 'custom':<8}  {RULE_KIND_LABELS[rule.kind]:<33}  "
            f"{pattern:<30}  {rule.tool or '-':<14}  {row['marks']}"
        )
    return 0


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


def _lag(value: timedelta | None) -> str:
    if value is None:
        return "-"
    hours = int(value.total_seconds() // 3600)
    return (
        f"{hours // 24}d {hours % 24}h"
        if hours >= 24
        else f"{hours}h {int(value.total_seconds() // 60) % 60}m"
    )


def _source_json(o: SourceOverview) -> dict[str, object]:
    h, state, rec = o.health, o.state, o.reconciliation
    return {
        "source": o.source,
        "kind": o.kind,
        "configured": o.configured,
        "last_success_at": _iso(state.last_success_at) if state else None,
        "last_run_at": _iso(state.last_run_at) if state else None,
        "watermark": _iso(state.watermark) if state else None,
        "lag_seconds": None if o.lag is None else int(o.lag.total_seconds()),
        "last_error": state.last_error if state else None,
        "consecutive_failures": state.consecutive_failures if state else 0,
        "rows_pulled": state.rows_pulled if state else 0,
        "viewers": o.viewers,
        "last_event_at": _iso(h.last_event_at) if h else None,
        "last_received_at": _iso(h.last_received_at) if h else None,
        "events": h.events if h else 0,
        "org_level_events": h.org_level_events if h else 0,
        "unattributed_events": h.unattributed_events if h else 0,
        "unattributed_identities": [
            {"kind": kind, "value": value, "events": events}
            for kind, value, events in (h.unattributed_identities if h else ())
        ],
        "billed_cost": None
        if rec is None
        else {
            "first_day": rec.first.isoformat(),
            "last_day": rec.last.isoformat(),
            "billed_usd": format(rec.billed_usd.normalize(), "f"),
            "recorded_usd": format(rec.recorded_usd.normalize(), "f"),
            "recorded_is_estimate": rec.recorded_is_estimate,
        },
    }


def format_sources(overview: Sequence[SourceOverview]) -> str:
    if not overview:
        return "no events received yet from any source"
    lines: list[str] = []
    for o in overview:
        h, state = o.health, o.state
        if o.kind == "pull" and not o.configured and state is None and h is None:
            lines.append(f"{o.source} (pull)  not configured")
            continue
        lines.append(f"{o.source} ({o.kind})" + ("" if o.configured else "  not configured"))
        if o.viewers is not None:
            lines.append(f"  viewers        {o.viewers}")
        if o.kind == "pull":
            lines += [
                f"  last success   {_when(state.last_success_at if state else None)}",
                f"  complete to    {_when(state.watermark if state else None)} (lag {_lag(o.lag)})",
            ]
            if state and state.last_error:
                lines.append(
                    f"  last error     {state.last_error} "
                    f"({state.consecutive_failures} failed run{'' if state.consecutive_failures == 1 else 's'} in a row)"
                )
        if h is not None:
            lines += [
                f"  last event     {_when(h.last_event_at)}",
                f"  last received  {_when(h.last_received_at)}",
                f"  events         {h.events:,} ({h.org_level_events:,} org-level, "
                f"{h.unattributed_events:,} unattributed)",
            ]
            if h.unattributed_identities:
                lines.append("  unattributed identities (map them with `ai-roi directory import`):")
                lines += [
                    f"    {kind} {value}: {events:,} event{'' if events == 1 else 's'}"
                    for kind, value, events in h.unattributed_identities
                ]
        if o.reconciliation is not None:
            rec = o.reconciliation
            lines.append(
                f"  billed cost    ${rec.billed_usd:.2f} from {rec.first} to {rec.last}; "
                f"recorded ${rec.recorded_usd:.2f}"
                + (" (estimated from list prices)" if rec.recorded_is_estimate else "")
            )
    return "\n".join(lines)


def cmd_directory_import(args: argparse.Namespace) -> int:
    from bot.domain.directory import parse_directory
    from bot.store.db import transaction
    from bot.store.directory import apply_directory

    path = Path(args.file)
    if not path.is_file():
        raise AiRoiError(f"{args.file}: no such file")
    try:
        parsed = parse_directory(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise AiRoiError(f"{args.file}: {exc}") from None
    with _context() as context, transaction(context.engine) as session:
        result = apply_directory(session, parsed.rows)
    for problem in [*parsed.problems, *(result.problems or [])]:
        print(f"{args.file}:{problem.line}: {problem.error}", file=sys.stderr)
    if parsed.ignored_columns:
        print(
            f"{args.file}: ignored unknown columns: {', '.join(parsed.ignored_columns)}",
            file=sys.stderr,
        )
    print(
        f"{len(parsed.rows)} rows: {result.people_created} people created, {result.people_updated} updated, "
        f"{result.teams_created} teams created, {result.identities_added} identities added, "
        f"{result.events_attributed} earlier events attributed"
    )
    return 1 if parsed.problems else 0


def cmd_directory_sync_slack(args: argparse.Namespace) -> int:
    from bot.slack.directory_sync import sync_slack

    with _context() as context:
        report = sync_slack(context)
    for problem in report.problems:
        print(problem, file=sys.stderr)
    print(report.summary())
    return 0


def cmd_db_purge(args: argparse.Namespace) -> int:
    from jobs.retention import run_retention

    with _context() as context:
        report = run_retention(context, dry_run=args.dry_run)
    print(report.summary())
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from alembic.util.exc import CommandError

    from bot.settings import load_settings
    from bot.store.db import create_engine, current_revision, upgrade

    settings = load_settings()
    engine = create_engine(settings.database_url)
    try:
        upgrade(engine)
        print(f"database is at revision {current_revision(engine)}")
    except CommandError as exc:  # e.g. a revision from a newer ai-roi
        raise AiRoiError(f"cannot migrate: {exc}") from None
    finally:
        engine.dispose()
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    from bot.store.db import transaction
    from bot.store.forget import chart_files, forget_person

    with _context() as context:
        with transaction(context.engine) as session:
            charts = chart_files(session, args.user)
            erased = forget_person(session, args.user, actor="cli", now=context.clock())
        print(f"erased {args.user}: " + ", ".join(f"{n} {what}" for what, n in erased.items()))
        return _delete_chart_images(context.settings, charts)


def _delete_chart_images(settings: Settings, file_ids: list[str]) -> int:
    """The erased person's chart images, deleted from Slack too; 1 (and which are left, by id,
    for an admin to delete by hand) when some could not be."""
    if not file_ids:
        return 0
    left: list[str]
    reason: str | None
    if not settings.slack_bot_token:
        left, reason = file_ids, "SLACK_BOT_TOKEN is not set"
    else:
        from bot.outbound.clients import slack_web_client
        from bot.slack.forget_charts import delete_charts

        result = delete_charts(slack_web_client(settings), file_ids)
        print(f"deleted {result.deleted + result.already_gone} chart images from Slack")
        left, reason = result.left, result.reason
    if left:
        print(
            f"error: {len(left)} chart images stay in Slack ({reason}); the database erase is "
            f"complete. Delete these files in Slack: {', '.join(left)}",
            file=sys.stderr,
        )
        return 1
    return 0


# Entry point -------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    """Error text on one line (a database driver's message may span several)."""
    return " ".join(text.split())


def _database_error(exc: Exception) -> str:
    """What went wrong with the database, without the SQL, the parameters or a password."""
    reason = getattr(exc, "orig", None) or exc
    first = str(reason).strip().splitlines()[0] if str(reason).strip() else type(reason).__name__
    return f"database error: {_one_line(first)}"


def _quiet_stdout() -> None:
    """The reader of our output went away (``ai-roi demo | head``): stop writing, quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.observability.logs import configure_logging

    configure_logging()  # WARNING and up on stderr; `serve` applies LOG_LEVEL and LOG_FORMAT
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    if not arguments:
        parser.print_help(sys.stderr)
        return 2
    try:
        args = parser.parse_args(arguments)
        handler: Command = args.handler
        code = handler(args)
        sys.stdout.flush()
        return code
    except UsageError as exc:
        print(f"ai-roi: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except AiRoiError as exc:
        print(f"ai-roi: {_one_line(str(exc))}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        _quiet_stdout()
        return 141  # as if killed by SIGPIPE, what the shell reports for `… | head`
    except KeyboardInterrupt:
        return 130
    except SQLAlchemyError as exc:
        log.debug("database error", exc_info=True)
        print(f"ai-roi: {_database_error(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # the last resort: one line on stderr, traceback in the log
        log.debug("unexpected error", exc_info=True)
        print(f"ai-roi: unexpected {type(exc).__name__}: {_one_line(str(exc))}", file=sys.stderr)
        return 1
