"""GitHub webhook deliveries and the pull connector's records → pull requests created, viewed
by reviewers and commenters, used when merged; the traits the AI-assisted rules read."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.domain.events import Actor, ArtifactRef, ArtifactTraits, EventType, NormalizedEvent
from bot.errors import PayloadError
from bot.ingest.adapters import github

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendors"
JSON = "application/json"


def fixture() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "github-pull-requests.json").read_text())
    return data


def payload(index: int) -> dict[str, Any]:
    result: dict[str, Any] = copy.deepcopy(fixture()["deliveries"][index]["payload"])
    return result


def records() -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = json.loads(
        (FIXTURES / "github-pull-request-records.json").read_text()
    )
    return result


def parse(value: Any, content_type: str = JSON) -> list[NormalizedEvent]:
    result = github.parse(json.dumps(value).encode(), content_type)
    assert result.rejected == []
    return result.events


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def test_an_opened_agent_pull_request_is_created_by_the_bot_for_the_assignee() -> None:
    (event,) = parse(payload(0))
    assert event == NormalizedEvent(
        key="created/acme%2Fapi#101",
        type=EventType.ARTIFACT_CREATED,
        occurred_at=at("2026-11-17T09:00:00Z"),
        actor=Actor("github", "copilot"),
        artifact=ArtifactRef(
            external_id="acme/api#101",
            kind="pull_request",
            title="Fix week boundaries in ORG_TIMEZONE",
            traits=ArtifactTraits(
                author="copilot",
                author_is_bot=True,
                requested_by="analima",  # the assignee who is not the bot
                labels=(),
                trailers=(),  # webhook payloads carry no commits
                markers=(
                    "Fixes the timezone bug in weekly reports.",
                    "Fixes #88.",
                    "<!-- START COPILOT CODING AGENT TIPS -->",
                    "Tip: you can ask Copilot to make changes by mentioning @copilot.",
                ),
            ),
        ),
    )
    assert event.ai_assisted is None  # the admins' rules decide


def test_a_review_is_a_view_by_the_reviewer_and_a_merge_is_a_use_by_the_merger() -> None:
    (review,) = parse(payload(1))
    assert (review.key, review.type, review.actor, review.occurred_at) == (
        "review/acme%2Fapi#101/30101",
        EventType.ARTIFACT_VIEWED,
        Actor("github", "bosantos"),
        at("2026-11-18T10:00:00Z"),
    )
    assert review.artifact == ArtifactRef("acme/api#101", kind="pull_request")
    created, merged = parse(payload(2))
    assert created.key == "created/acme%2Fapi#101"
    assert (merged.key, merged.type, merged.actor, merged.occurred_at) == (
        "merged/acme%2Fapi#101",
        EventType.ARTIFACT_USED,
        Actor("github", "bosantos"),
        at("2026-11-18T11:00:00Z"),
    )


def test_comments_are_views_unless_a_bot_wrote_them_or_they_are_on_a_plain_issue() -> None:
    assert parse(payload(4)) == []  # github-actions[bot]
    (own,) = parse(payload(5))  # the author's own comment is kept; facts leave it out
    assert (own.key, own.actor) == ("comment/acme%2Fweb#7/40701", Actor("github", "analima"))
    plain = payload(5)
    del plain["issue"]["pull_request"]
    assert parse(plain) == []
    deleted = {**payload(5), "action": "deleted"}
    assert parse(deleted) == []


def test_pending_reviews_and_bot_reviews_are_not_views_dismissed_ones_are() -> None:
    pending = payload(1)
    pending["review"].update(state="PENDING", submitted_at=None)
    assert parse(pending) == []
    by_bot = payload(1)
    by_bot["review"]["user"] = {"login": "copilot-pull-request-reviewer[bot]", "type": "Bot"}
    assert parse(by_bot) == []
    dismissed = {**payload(1), "action": "dismissed"}
    dismissed["review"]["state"] = "dismissed"
    assert [e.key for e in parse(dismissed)] == ["review/acme%2Fapi#101/30101"]


def test_closed_without_merging_stays_created_and_is_never_used() -> None:
    closed = payload(3)
    closed["action"] = "closed"
    closed["pull_request"].update(state="closed", closed_at="2026-11-19T10:00:00Z")
    assert [e.type for e in parse(closed)] == [EventType.ARTIFACT_CREATED]


def test_a_connector_record_brings_trailers_reviews_comments_and_the_merge() -> None:
    events = parse(records())
    keys = [e.key for e in events]
    assert keys == [
        "created/acme%2Fapi#101",
        "merged/acme%2Fapi#101",
        "review/acme%2Fapi#101/30101",
        "created/acme%2Fapi#102",
        "merged/acme%2Fapi#102",
        "review/acme%2Fapi#102/30102",
        "created/acme%2Fweb#7",
        "comment/acme%2Fweb#7/40701",  # the bot's comment is left out
    ]
    claude = events[6].artifact
    assert claude is not None and claude.traits is not None
    assert claude.traits.trailers == ("Co-Authored-By: Claude <noreply@anthropic.com>",)
    assert claude.traits.markers[-1] == (
        "🤖 Generated with [Claude Code](https://claude.com/claude-code)"
    )
    labelled = events[3].artifact
    assert labelled is not None and labelled.traits is not None
    assert labelled.traits.labels == ("dependencies",)
    # The same pull request from a webhook and from the connector: the same keys.
    assert parse(payload(0))[0].key == keys[0]
    # NDJSON too, one record a line.
    lines = "\n".join(json.dumps(r) for r in records()).encode()
    assert [e.key for e in github.parse(lines, "application/x-ndjson").events] == keys


def test_requested_by_falls_back_to_a_requested_reviewer_and_never_the_author() -> None:
    record = payload(0)
    pull = record["pull_request"]
    pull["assignees"] = [pull["user"]]
    pull["assignee"] = pull["user"]
    pull["requested_reviewers"] = [{"login": "BoSantos", "type": "User"}]
    traits = parse(record)[0].artifact.traits  # type: ignore[union-attr]
    assert traits is not None and traits.requested_by == "bosantos"
    own = payload(6)  # Ana's own pull request, assigned to nobody
    own["pull_request"]["assignees"] = [own["pull_request"]["user"]]
    traits = parse(own)[0].artifact.traits  # type: ignore[union-attr]
    assert traits is not None and traits.requested_by is None


def test_the_description_is_never_kept_only_its_last_short_lines() -> None:
    record = payload(3)
    secret_prompt = "Please write the migration using the customer table with SSNs"
    lines = [secret_prompt, *[f"line {n}" for n in range(8)], "x" * 500, "tab\there\x00nul"]
    record["pull_request"]["body"] = "\n\n".join(lines)
    (event,) = parse(record)
    traits = event.artifact.traits  # type: ignore[union-attr]
    assert traits is not None
    assert traits.markers == ("line 5", "line 6", "line 7", "x" * 200, "tab here nul")
    assert secret_prompt not in repr(event)


def test_bad_records_are_rejected_with_a_reason_and_the_others_kept() -> None:
    good = payload(0)
    no_author = payload(3)
    no_author["pull_request"]["user"] = None
    bad_time = payload(6)
    bad_time["pull_request"]["created_at"] = "last Tuesday"
    no_repo = payload(6)
    del no_repo["repository"]
    del no_repo["pull_request"]["base"]
    result = github.parse(json.dumps([good, no_author, bad_time, no_repo]).encode(), JSON)
    assert [e.key for e in result.events] == ["created/acme%2Fapi#101"]
    reasons = {r.index: r.error for r in result.rejected}
    assert "names no author" in reasons[1]
    assert "created_at" in reasons[2]
    assert "names no repository" in reasons[3]


def test_a_body_of_another_shape_is_refused_as_a_whole() -> None:
    with pytest.raises(PayloadError, match="expected GitHub pull_request"):
        github.parse(b'{"zen": "Design for failure.", "hook_id": 1}', JSON)
    with pytest.raises(PayloadError, match="GitHub pull request, review or issue comment"):
        github.parse(b'[{"day": "2026-11-18"}]', JSON)
