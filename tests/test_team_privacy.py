"""Team reports that survive combination, on SQLite and PostgreSQL: the three-team case, joins and
leaves after a week was reported, the honest reason, forget, migration 0006, and a property test
over generated organisations checked by brute force against what the database released."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.cli import main
from bot.context import AppContext
from bot.domain.directory import DirectoryRow
from bot.domain.privacy import HoldReason
from bot.domain.team_render import HELD_NOTES
from bot.domain.weeks import Week
from bot.slack.team_command import team_command_answer
from bot.store.db import upgrade
from bot.store.directory import apply_directory
from bot.store.forget import forget_person
from bot.store.models import (
    Event,
    Membership,
    MembershipPeriod,
    Person,
    PrivacyReleaseCoord,
    Team,
)
from bot.store.privacy_ledger import released
from bot.store.slack_directory import follow_usergroup
from bot.teams.report import Viewer, team_reports
from tests.test_privacy import smallest_isolated_group

UTC_TZ = ZoneInfo("UTC")
W47 = Week(2026, 47)
IN_W47 = "2026-11-18T10:00:00+00:00"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ADMIN = Viewer(actor="U_ADMIN", is_admin=True)
keys = count()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


def import_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: list[tuple[str, str, str, str]]
) -> None:
    """``(handle, teams, lead_of, slack id)`` rows through ``ai-roi directory import``."""
    path = tmp_path / f"directory-{next(keys)}.csv"
    lines = ["email,name,team,lead_of,slack_user_id"]
    lines += [
        f"{h}@example.com,Person {h},{teams},{lead},{slack}" for h, teams, lead, slack in rows
    ]
    path.write_text("\n".join(lines) + "\n")
    assert main(["directory", "import", str(path)]) == 0
    capsys.readouterr()


def use(engine: Engine, tokens: dict[str, int], at: str = IN_W47) -> None:
    with Session(engine) as session:
        ids = dict(session.exec(select(Person.email, Person.id)).all())
        for handle, amount in tokens.items():
            session.add(
                Event(
                    source="usage",
                    key=f"k{next(keys)}",
                    type="ai.usage",
                    occurred_at=datetime.fromisoformat(at),
                    person_id=ids[f"{handle}@example.com"],
                    tool="chatgpt",
                    model="m",
                    input_tokens=amount,
                    output_tokens=0,
                    cost_nanos=amount,
                    requests=1,
                )
            )
        session.commit()


def cli_json(team: str, capsys: pytest.CaptureFixture[str], week: str = "2026-W47") -> Any:
    assert main(["team", team, "--week", week, "--json"]) == 0
    return json.loads(capsys.readouterr().out)["weeks"][-1]


def slack_answer(engine: Engine, database_url: str, user_id: str, words: list[str]) -> Any:
    from tests.conftest import make_settings

    context = AppContext(settings=make_settings(database_url), engine=engine, clock=lambda: NOW)
    unused = WebClient(token="xoxb-test", base_url="http://127.0.0.1:9/")  # known people only
    return team_command_answer(context, unused, user_id, words, admin=False)


# A = X + t, B = Y, G = X ∪ Y ------------------------------------------------------------------


def three_teams(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], engine: Engine
) -> dict[str, int]:
    rows = [(f"x{i}", "A;G", "", "") for i in range(1, 6)]
    rows += [("t", "A", "", ""), *((f"y{i}", "B;G", "", "") for i in range(1, 6))]
    rows += [(f"o{i}", "", "", "") for i in range(1, 21)]
    rows += [("la", "", "A", "U_LA"), ("lb", "", "B", "U_LB"), ("lg", "", "G", "U_LG")]
    import_csv(tmp_path, capsys, rows)
    tokens = {handle: 1000 + 37 * n for n, (handle, *_) in enumerate(rows[:-3])}
    use(engine, tokens)
    return tokens


def test_three_overlapping_teams_never_single_out_t(
    env: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tokens = three_teams(tmp_path, capsys, engine)
    # The lead of B asks first, in Slack; the week is decided for everyone at once.
    answer = slack_answer(engine, env, "U_LB", [])
    assert answer["response_type"] == "ephemeral"
    assert HELD_NOTES[HoldReason.OVERLAP] in json.dumps(answer["blocks"], ensure_ascii=False)
    # The admin then asks for everything.
    weeks = {team: cli_json(team, capsys) for team in ["org", "A", "B", "G"]}
    assert not all(weeks[team]["shown"] for team in "ABG")
    assert weeks["B"] == {
        "week": "2026-W47",
        "label": "Nov 16–22",
        "shown": False,
        "held_back": "overlaps_other_reports",
        "note": HELD_NOTES[HoldReason.OVERLAP],
    }
    members = {
        "org": set(tokens),
        "A": {*(f"x{i}" for i in range(1, 6)), "t"},
        "B": {f"y{i}" for i in range(1, 6)},
        "G": {*(f"x{i}" for i in range(1, 6)), *(f"y{i}" for i in range(1, 6))},
    }
    for team, week in weeks.items():
        if week["shown"]:
            assert week["tokens"]["input"] == sum(tokens[h] for h in members[team])
    # Every sum and difference of what was shown leaves at least five people.
    index = {handle: n for n, handle in enumerate(sorted(tokens))}
    shown_rows = [
        frozenset((index[h], "") for h in members[team]) for team in weeks if weeks[team]["shown"]
    ]
    assert smallest_isolated_group(shown_rows, 5) is None
    # The lead of A sees A the same way, and asking again changes nothing.
    lead_a = slack_answer(engine, env, "U_LA", [])
    assert weeks["A"]["shown"] == (HELD_NOTES[HoldReason.OVERLAP] not in json.dumps(lead_a))
    assert cli_json("B", capsys) == weeks["B"]


def test_disjoint_teams_of_five_or_more_are_shown(
    env: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [(f"a{i}", "Alpha", "", "") for i in range(1, 6)]
    rows += [(f"b{i}", "Beta", "", "") for i in range(1, 8)]
    rows += [(f"c{i}", "", "", "") for i in range(1, 6)]
    import_csv(tmp_path, capsys, rows)
    use(engine, {handle: 100 for handle, *_ in rows})
    for team in ["org", "Alpha", "Beta"]:
        assert cli_json(team, capsys)["shown"], team


# Memberships as of the week reported ----------------------------------------------------------


def test_a_join_after_a_report_does_not_reopen_the_week(
    env: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [(f"d{i}", "Delta", "", "") for i in range(1, 7)]
    rows += [(f"o{i}", "", "", "") for i in range(1, 7)] + [("new", "", "", "U_NEW")]
    import_csv(tmp_path, capsys, rows)
    use(engine, {handle: 10 ** (n % 6 + 1) for n, (handle, *_) in enumerate(rows)})
    before = cli_json("Delta", capsys)
    assert before["shown"] and before["tokens"]["input"] == 1_111_110
    # A CSV re-import adds "new" to Delta, then a user-group sync adds them again and drops d6.
    import_csv(tmp_path, capsys, [("new", "Delta", "", "U_NEW")])
    assert cli_json("Delta", capsys) == before
    with Session(engine) as session:
        delta = session.exec(select(Team).where(Team.name == "Delta")).one()
        for i in range(1, 7):
            person = session.exec(select(Person).where(Person.email == f"d{i}@example.com")).one()
            person.slack_user_id = f"U_D{i}"
        session.flush()
        sync = follow_usergroup(
            session, delta, [*(f"U_D{i}" for i in range(1, 6)), "U_NEW"], actor="t", now=NOW
        )
        session.commit()
        assert (sync.added, sync.removed) == (0, 1)
        d6 = session.exec(select(Person).where(Person.email == "d6@example.com")).one()
        periods = session.exec(
            select(MembershipPeriod).where(MembershipPeriod.person_id == d6.id)
        ).all()
        assert [p.left_at for p in periods] == [NOW]
    assert cli_json("Delta", capsys) == before


def test_a_join_counts_from_when_it_was_recorded(engine: Engine) -> None:
    with Session(engine) as session:
        apply_directory(session, [DirectoryRow(1, "a@example.com", teams=("Red",))], now=NOW)
        first = session.exec(select(MembershipPeriod)).one()
        assert first.joined_at < NOW  # nothing reported yet: a member from the beginning
        session.execute(sa.text("INSERT INTO privacy_weeks VALUES ('2026-W46', :at)"), {"at": NOW})
        apply_directory(session, [DirectoryRow(1, "b@example.com", teams=("Red",))], now=NOW)
        apply_directory(session, [DirectoryRow(1, "a@example.com", teams=("Red",))], now=NOW)
        periods = session.exec(select(MembershipPeriod).order_by(col(MembershipPeriod.id))).all()
        assert [p.joined_at == NOW for p in periods] == [False, True]  # no second period for a


# Honest wording -------------------------------------------------------------------------------


def test_a_one_team_pilot_is_told_the_real_reason(
    env: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [(f"p{i}", "Pilot", "", "") for i in range(1, 7)]
    rows += [(f"o{i}", "", "", "") for i in range(1, 4)] + [("lead", "", "Pilot", "U_PL")]
    import_csv(tmp_path, capsys, rows)
    use(engine, {handle: 500 for handle, *_ in rows[:-1]})
    answer = slack_answer(engine, env, "U_PL", [])
    text = json.dumps(answer, ensure_ascii=False)
    assert HELD_NOTES[HoldReason.OVERLAP] in text
    assert HELD_NOTES[HoldReason.TOO_FEW] not in text
    assert re.search(r"\b(3|three|6|six)\b(?! ?[–-])", text.split("Trend")[0]) is None
    assert cli_json("Pilot", capsys)["held_back"] == "overlaps_other_reports"


# Forget and the migration ---------------------------------------------------------------------


def test_forget_erases_history_and_ledger_rows(
    env: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [(f"f{i}", "Fox", "", "") for i in range(1, 7)]
    import_csv(tmp_path, capsys, rows)
    use(engine, {handle: 10 for handle, *_ in rows})
    assert cli_json("Fox", capsys)["shown"]
    with Session(engine) as session:
        f1 = session.exec(select(Person).where(Person.email == "f1@example.com")).one()
        assert session.exec(
            select(PrivacyReleaseCoord).where(PrivacyReleaseCoord.person_id == f1.id)
        ).all()
        erased = forget_person(session, "f1@example.com", actor="cli", now=NOW)
        session.commit()
        assert erased["membership_history"] == 1 and erased["privacy_ledger"] > 0
        for model in (MembershipPeriod, PrivacyReleaseCoord):
            assert not session.exec(select(model).where(model.person_id == f1.id)).all()


def test_migration_0006_keeps_memberships_as_members_since_the_beginning(engine: Engine) -> None:
    from alembic import command

    from bot.store.db import alembic_config

    command.downgrade(alembic_config(engine), "0005")
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO teams (id, name, created_at) VALUES (1, 'T', :at)"), {"at": NOW}
        )
        for pid in (1, 2):
            connection.execute(
                sa.text(
                    "INSERT INTO people (id, email, is_slack_admin, opted_out,"
                    " share_with_lead_default, created_at, updated_at)"
                    " VALUES (:id, :email, false, false, false, :at, :at)"
                ),
                {"id": pid, "email": f"m{pid}@example.com", "at": NOW},
            )
        connection.execute(
            sa.text(
                "INSERT INTO memberships (team_id, person_id, is_member, is_lead, joined_at)"
                " VALUES (1, 1, true, false, :at), (1, 2, false, true, :at)"
            ),
            {"at": NOW},
        )
    upgrade(engine)
    with Session(engine) as session:
        periods = session.exec(select(MembershipPeriod)).all()
        assert [(p.team_id, p.person_id, p.joined_at.year, p.left_at) for p in periods] == [
            (1, 1, 1970, None)
        ]
        assert len(session.exec(select(Membership)).all()) == 2


# Property: whatever the organisation, what the database released isolates no one -------------


@st.composite
def small_orgs(draw: st.DrawFn) -> tuple[int, list[frozenset[int]], frozenset[int]]:
    size = draw(st.integers(min_value=5, max_value=10))
    teams = draw(
        st.lists(
            st.frozensets(st.integers(min_value=0, max_value=size - 1), min_size=1),
            min_size=1,
            max_size=3,
        )
    )
    active = draw(st.frozensets(st.integers(min_value=0, max_value=size - 1), min_size=3))
    return size, teams, active


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(org=small_orgs())
def test_released_reports_never_isolate_anyone(engine: Engine, org: Any) -> None:
    """Each example is a fresh week with fresh people and teams, asked for by an admin."""
    size, teams, active = org
    n = next(keys)
    week = Week(2020, 1).shift(n)
    start, end = week.bounds(UTC_TZ)
    handles = [f"e{n}p{i}" for i in range(size)]
    with Session(engine) as session:
        apply_directory(
            session,
            [
                DirectoryRow(
                    i,
                    f"{handle}@example.com",
                    teams=tuple(f"E{n}T{t}" for t, team in enumerate(teams) if i in team),
                )
                for i, handle in enumerate(handles)
            ],
            now=start - timedelta(days=1),
        )
        ids = dict(session.exec(select(Person.email, Person.id)).all())
        for i in sorted(active):
            session.add(
                Event(
                    source="usage",
                    key=f"k{next(keys)}",
                    type="ai.usage",
                    occurred_at=start + timedelta(hours=1),
                    person_id=ids[f"{handles[i]}@example.com"],
                    tool="chatgpt",
                    input_tokens=2**i,
                    requests=1,
                )
            )
        session.commit()
        names = ["org", *(f"E{n}T{t}" for t in range(len(teams)))]
        reports = team_reports(
            session,
            viewer=ADMIN,
            team_names=names,
            week=week,
            weeks=1,
            tz=UTC_TZ,
            k=5,
            now=end + timedelta(days=3),
        )
        ledger = released(session, str(week))
        session.commit()
    sets = [active, *(team & active for team in teams)]
    for report, members in zip(reports, sets, strict=True):
        figures = report.weeks[-1].figures
        if figures is not None:
            assert figures.input_tokens == sum(2**i for i in members)
            assert len(members) >= 5
    by_id = {ids[f"{handle}@example.com"]: i for i, handle in enumerate(handles)}
    assert smallest_isolated_group([row for _, row in ledger], 5) is None
    shown_rows = [
        frozenset((i, "") for i in members)
        for report, members in zip(reports, sets, strict=True)
        if report.weeks[-1].shown
    ]
    assert smallest_isolated_group(shown_rows, 5) is None
    assert {by_id[p] for _, row in ledger for p, _ in row} <= set(active)
