"""Team reports on a real database (SQLite and PostgreSQL): figures, suppression, access, audit,
and the ``ai-roi team`` command."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.cli import main
from bot.domain.privacy import HoldReason
from bot.domain.team_render import HELD_NOTES, render_text, report_json
from bot.domain.weeks import Week
from bot.errors import NotFoundError, PermissionDeniedError, UsageError
from bot.slack.blocks.limits import MESSAGE_BLOCKS
from bot.slack.blocks.team_report import render_blocks
from bot.store.memberships import record_join
from bot.store.models import Artifact, AuditEntry, Event, Membership, Person, Team
from bot.store.workspace import set_setting
from bot.teams.report import Viewer, min_group_size, team_report, teams_for
from fakes.reference_facts import artifacts_by_kind, usage_totals

UTC_TZ = ZoneInfo("UTC")
W46, W47 = Week(2026, 46), Week(2026, 47)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
MON_W46 = "2026-11-09"
MON_W47 = "2026-11-16"
ADMIN = Viewer(actor="U_ADMIN", slack_user_id="U_ADMIN", is_admin=True)


class Org:
    """A small organisation built straight into the tables.

    Week 2026-W47: Data (d1–d6, all active), Tiny (t1–t4 active, t5 not), Eng = Platform (p1–p6)
    plus e1, five people in no team (u1–u5), Ops (o1–o5; o6 left). Week 2026-W46: Ops o1–o6 only.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.ids: dict[str, int] = {}
        self.keys = count()
        eng = self.team("Eng")
        self.team("Platform", parent=eng)
        for name in ("Data", "Tiny", "Ops"):
            self.team(name)
        for handle, team in [
            *((f"d{i}", "Data") for i in range(1, 7)),
            *((f"t{i}", "Tiny") for i in range(1, 6)),
            *((f"p{i}", "Platform") for i in range(1, 7)),
            ("e1", "Eng"),
            *((f"u{i}", None) for i in range(1, 6)),
            *((f"o{i}", "Ops") for i in range(1, 7)),
        ]:
            self.person(handle, team)
        self.person("lena", None, lead_of="Data", slack="U_LENA")
        self.person("tom", None, lead_of="Tiny", slack="U_TOM")
        for i, handle in enumerate(["d1", "d2", "d3", "d4", "d5", "d6"], start=1):
            self.usage(handle, f"{MON_W47}T10:00:00Z", tokens=1000 * i, cost_nanos=10**7 * i)
        self.usage("d1", f"{MON_W47}T11:00:00Z", tokens=5, cost_nanos=3, cached=2)
        for handle in ["t1", "t2", "t3", "t4", "p1", "p2", "p3", "p4", "p5", "p6"]:
            self.usage(handle, f"{MON_W47}T10:00:00Z", tokens=700, cost_nanos=5 * 10**6)
        self.usage("e1", f"{MON_W47}T10:00:00Z", tokens=900, cost_nanos=10**6, tool="cursor")
        for handle in ["u1", "u2", "u3", "u4", "u5", "o1", "o2", "o3", "o4", "o5"]:
            self.usage(handle, f"{MON_W47}T12:00:00Z", tokens=300, cost_nanos=10**6)
        for handle in ["o1", "o2", "o3", "o4", "o5", "o6"]:
            self.usage(handle, f"{MON_W46}T12:00:00Z", tokens=400, cost_nanos=10**6)
        # Artifacts of Data in W47: a1 viewed by a colleague, a2 only by its creator, a3 used
        # after the week ended, a4 used within it; a2 viewed by someone else after the week.
        self.artifact("d1", "a1", f"{MON_W47}T09:00:00Z")
        self.artifact_event("artifact.viewed", "d2", "a1", "2026-11-18T09:00:00Z")
        self.artifact_event("artifact.viewed", "d1", "a1", "2026-11-18T10:00:00Z")
        self.artifact("d2", "a2", f"{MON_W47}T09:00:00Z")
        self.artifact_event("artifact.viewed", "d2", "a2", "2026-11-19T09:00:00Z")
        self.artifact_event("artifact.viewed", "o1", "a2", "2026-11-24T09:00:00Z")
        self.artifact("d3", "a3", f"{MON_W47}T09:00:00Z")
        self.artifact_event("artifact.used", "d3", "a3", "2026-11-24T09:00:00Z")
        self.artifact("d4", "a4", f"{MON_W47}T09:00:00Z")
        self.artifact_event("artifact.used", "d4", "a4", "2026-11-20T09:00:00Z")
        session.commit()

    def team(self, name: str, parent: int | None = None) -> int:
        team = Team(name=name, parent_id=parent)
        self.session.add(team)
        self.session.flush()
        assert team.id is not None
        self.ids[name] = team.id
        return team.id

    def person(
        self, handle: str, team: str | None, *, lead_of: str | None = None, slack: str | None = None
    ) -> None:
        person = Person(
            email=f"{handle}@example.com", name=f"Person {handle.upper()}", slack_user_id=slack
        )
        self.session.add(person)
        self.session.flush()
        assert person.id is not None
        self.ids[handle] = person.id
        if team:
            self.session.add(Membership(team_id=self.ids[team], person_id=person.id))
            record_join(self.session, team_id=self.ids[team], person_id=person.id, at=NOW)
        if lead_of:
            self.session.add(
                Membership(
                    team_id=self.ids[lead_of], person_id=person.id, is_member=False, is_lead=True
                )
            )

    def usage(
        self,
        handle: str,
        at: str,
        *,
        tokens: int,
        cost_nanos: int,
        cached: int = 0,
        tool: str = "chatgpt",
    ) -> None:
        self.session.add(
            Event(
                source="usage",
                key=f"k{next(self.keys)}",
                type="ai.usage",
                occurred_at=datetime.fromisoformat(at),
                person_id=self.ids[handle],
                tool=tool,
                model="m",
                input_tokens=tokens,
                cached_tokens=cached,
                output_tokens=tokens // 10,
                cost_nanos=cost_nanos,
                requests=1,
            )
        )

    def artifact(self, handle: str, external_id: str, at: str) -> None:
        artifact = Artifact(source="usage", external_id=external_id, kind="dashboard")
        self.session.add(artifact)
        self.session.flush()
        assert artifact.id is not None
        self.ids[external_id] = artifact.id
        self.artifact_event("artifact.created", handle, external_id, at)

    def artifact_event(self, type_: str, handle: str, external_id: str, at: str) -> None:
        self.session.add(
            Event(
                source="usage",
                key=f"k{next(self.keys)}",
                type=type_,
                occurred_at=datetime.fromisoformat(at),
                person_id=self.ids[handle],
                artifact_id=self.ids[external_id],
            )
        )


@pytest.fixture
def org(engine: Engine) -> Org:
    with Session(engine, expire_on_commit=False) as session:
        return Org(session)


def report(engine: Engine, team: str | None, viewer: Viewer = ADMIN, **kwargs: object):  # type: ignore[no-untyped-def]
    options: dict[str, object] = {"week": W47, "weeks": 1, "tz": UTC_TZ, "k": 5, "now": NOW}
    options.update(kwargs)
    with Session(engine) as session:
        result = team_report(session, viewer=viewer, team_name=team, **options)  # type: ignore[arg-type]
        session.commit()
    return result


def test_a_team_of_six_active_shows_the_sum_of_its_members(engine: Engine, org: Org) -> None:
    data = report(engine, "Data").weeks[-1]
    assert data.figures is not None
    start, end = W47.bounds(UTC_TZ)
    with Session(engine) as session:
        people = [org.ids[f"d{i}"] for i in range(1, 7)]
        totals = [usage_totals(session, p, start, end) for p in people]
        kinds = [k for p in people for k in artifacts_by_kind(session, p, start, end)]
    figures = data.figures
    assert figures.input_tokens == sum(t.input_tokens for t in totals) == 21005
    assert figures.cached_tokens == sum(t.cached_tokens for t in totals) == 2
    assert figures.output_tokens == sum(t.output_tokens for t in totals)
    assert figures.cost_nanos == sum(t.cost_nanos for t in totals)
    assert figures.requests == sum(t.requests for t in totals) == 7
    assert figures.artifacts_created == sum(k.created for k in kinds) == 4
    assert figures.artifacts_viewed_by_others == sum(k.viewed_by_others for k in kinds) == 1
    assert figures.artifacts_used == sum(k.used for k in kinds) == 1
    assert [(t.tool, t.tokens) for t in figures.by_tool] == [("chatgpt", figures.tokens)]


def test_a_team_with_four_active_is_suppressed(engine: Engine, org: Org) -> None:
    tiny = report(engine, "Tiny")
    assert [w.figures for w in tiny.weeks] == [None]
    assert tiny.weeks[0].held is HoldReason.TOO_FEW
    text = render_text(tiny)
    assert "Held back for privacy: too few members were active this week." in text
    assert " 4 " not in text and "four" not in text


def test_a_lead_sees_only_the_teams_they_lead(engine: Engine, org: Org) -> None:
    lena = Viewer(actor="U_LENA", slack_user_id="U_LENA")
    with Session(engine) as session:
        assert teams_for(session, lena) == ["Data"]
    assert report(engine, None, lena).team == "Data"
    assert report(engine, "data", lena).team == "Data"
    with pytest.raises(PermissionDeniedError, match="Teams you can see: Data"):
        report(engine, "Tiny", lena)
    with pytest.raises(PermissionDeniedError):
        report(engine, "org", lena)
    with pytest.raises(
        NotFoundError, match=re.escape("No team named 'Nope'. Teams you can see: Data.")
    ):
        report(engine, "Nope", lena)
    nobody = Viewer(actor="U_X", slack_user_id="U_X")
    with pytest.raises(PermissionDeniedError, match="don't lead a team"):
        report(engine, None, nobody)


def test_an_admin_sees_the_organisation(engine: Engine, org: Org) -> None:
    whole = report(engine, None)
    assert whole.team == "org"
    figures = whole.weeks[-1].figures
    assert figures is not None
    assert figures.requests == 7 + 10 + 1 + 10  # every attributed usage event of the week
    with Session(engine) as session:
        assert teams_for(session, ADMIN)[0] == "org"


def test_a_parent_and_a_child_one_person_apart(engine: Engine, org: Org) -> None:
    eng = report(engine, "Eng").weeks[-1]
    platform = report(engine, "Platform").weeks[-1]
    assert eng.figures is not None
    assert platform.figures is None  # Eng minus Platform would be e1 alone
    assert platform.held is HoldReason.OVERLAP
    assert "overlap other team reports" in render_text(report(engine, "Platform"))
    assert eng.figures.by_tool == ()  # e1 is the only one using cursor: no tool breakdown


def test_weeks_are_decided_each_on_its_own(engine: Engine, org: Org) -> None:
    """o6 active in W46 only: each week's sum is over that week's numbers, so comparing two weeks
    is not a difference of the same quantities; both weeks of Ops are shown."""
    ops = report(engine, "Ops", weeks=2)
    assert [str(w.week) for w in ops.weeks] == ["2026-W46", "2026-W47"]
    assert ops.weeks[0].figures is not None and ops.weeks[1].figures is not None
    trend = report_json(ops)["trend"]
    assert trend["weeks"] == ["2026-W43", "2026-W44", "2026-W45", "2026-W46", "2026-W47"]
    assert trend["tokens"] == [None, None, None, 2640, 1650]
    assert trend["sparkline"] == "···█▅"


def test_k_from_the_workspace_setting_only_raises(engine: Engine, org: Org) -> None:
    with Session(engine) as session:
        assert min_group_size(session) == 5
        set_setting(session, "min_group_size", 2, actor="U_ADMIN", now=NOW)
        assert min_group_size(session) == 5
        set_setting(session, "min_group_size", 7, actor="U_ADMIN", now=NOW)
        assert min_group_size(session) == 7
        session.commit()
    assert report(engine, "Data", k=7).weeks[-1].figures is None
    assert report(engine, "Data", k=1).weeks[-1].figures is not None


def test_weeks_must_be_complete_and_few(engine: Engine, org: Org) -> None:
    with pytest.raises(UsageError, match="has not ended yet"):
        report(engine, "Data", week=Week(2026, 48))
    with pytest.raises(UsageError, match="between 1 and 12"):
        report(engine, "Data", weeks=13)


def test_every_report_viewed_is_audited(engine: Engine, org: Org) -> None:
    report(engine, "Data", Viewer(actor="U_LENA", slack_user_id="U_LENA"))
    report(engine, "Tiny")
    with Session(engine) as session:
        entries = session.exec(
            select(AuditEntry).where(AuditEntry.action == "team_report.view")
        ).all()
    assert [(e.actor, e.target) for e in entries] == [("U_LENA", "Data"), ("U_ADMIN", "Tiny")]
    for entry in entries:
        assert json.loads(entry.details or "{}") == {"weeks": ["2026-W47"]}


def test_slack_blocks_stay_within_limits(engine: Engine, org: Org) -> None:
    blocks, text = render_blocks(report(engine, "Ops", weeks=12))
    assert len(blocks) <= MESSAGE_BLOCKS
    assert blocks[0]["type"] == "header"
    assert blocks[-1]["type"] == "context"
    assert "groups under 5 active members" in blocks[-1]["elements"][0]["text"]
    assert HELD_NOTES[HoldReason.TOO_FEW] in json.dumps(blocks, ensure_ascii=False)
    assert text.startswith("Team report: Ops")


# CLI ------------------------------------------------------------------------------------------


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


def no_one_named(output: str) -> None:
    for handle in ["d1", "d6", "t1", "p1", "e1", "u1", "o1", "o6", "lena", "tom"]:
        assert f"{handle}@example.com" not in output
        assert f"Person {handle.upper()}" not in output


def test_cli_team_text_and_json(
    env: str, engine: Engine, org: Org, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["team", "Data", "--week", "2026-W47"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Team report: Data\n")
    assert "tokens     23,105 · input 21,005 (cached 2) · output 2,100" in out
    assert "artifacts  4 created · 1 viewed by others · 1 used" in out
    no_one_named(out)
    assert main(["team", "Platform", "--week", "2026-W47", "--weeks", "2", "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert [w["shown"] for w in data["weeks"]] == [False, False]
    assert data["weeks"][0]["held_back"] == "too_few_active"  # nobody active in W46
    assert data["weeks"][1] == {
        "week": "2026-W47",
        "label": "Nov 16–22",
        "shown": False,
        "held_back": "overlaps_other_reports",
        "note": HELD_NOTES[HoldReason.OVERLAP],
    }
    no_one_named(out)
    assert main(["team", "org", "--week", "2026-W47"]) == 0
    no_one_named(capsys.readouterr().out)


def test_cli_team_unknown_team(env: str, org: Org, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["team", "Marketing", "--week", "2026-W47"]) == 1
    err = capsys.readouterr().err
    assert "No team named 'Marketing'" in err
    assert "Teams you can see: org, Data, Eng, Ops, Platform, Tiny." in err
    assert main(["team", "Data", "--weeks", "0", "--week", "2026-W47"]) == 2
