"""``ai-roi sources``: per source the last event, counts, org-level usage, unmapped identities."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from tests.helpers import dumps, usage_event

# One OpenAI usage bucket: a result grouped by user (an id nobody is mapped to yet) and an
# ungrouped one (usage of the organisation, no person at all).
OPENAI_PAGE = {
    "object": "page",
    "has_more": False,
    "next_page": None,
    "data": [
        {
            "object": "bucket",
            "start_time": 1794960000,  # 2026-11-18T00:00:00Z
            "end_time": 1795046400,
            "results": [
                {
                    "object": "organization.usage.completions.result",
                    "input_tokens": 500,
                    "output_tokens": 50,
                    "num_model_requests": 3,
                    "user_id": "user-zed",
                    "model": "gpt-4o",
                },
                {
                    "object": "organization.usage.completions.result",
                    "input_tokens": 900,
                    "output_tokens": 90,
                    "num_model_requests": 4,
                    "user_id": None,
                    "model": None,
                },
            ],
        }
    ],
}


def vendor_actor(event_id: str, occurred_at: str, actor: dict[str, str]) -> dict[str, Any]:
    return {**usage_event(event_id, "unused@example.com", occurred_at), "actor": actor}


GENERIC_EVENTS = [
    usage_event("g1", "ana@example.com", "2026-11-18T09:00:00Z"),
    vendor_actor("g2", "2026-11-19T09:00:00+01:00", {"external_id": "u-7", "source": "openai"}),
    vendor_actor("g3", "2026-11-17T09:00:00Z", {"external_id": "u-7", "source": "openai"}),
    vendor_actor("g4", "2026-11-17T09:00:00Z", {"slack_user_id": "U0BEN"}),
]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


@pytest.fixture
def ingested(env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> datetime:
    """Both files ingested through the CLI; returns the time just before."""
    before = datetime.now(UTC).replace(microsecond=0)
    (tmp_path / "openai.json").write_bytes(dumps(OPENAI_PAGE))
    (tmp_path / "usage.json").write_bytes(dumps(GENERIC_EVENTS))
    assert main(["ingest", "--source", "openai", "openai.json"]) == 0
    assert main(["ingest", "--source", "usage", "usage.json"]) == 0
    capsys.readouterr()
    return before


def sources_json(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    assert main(["sources", "--json"]) == 0
    return {entry["source"]: entry for entry in json.loads(capsys.readouterr().out)}


def test_nothing_received_yet(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sources"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "anthropic (pull)  not configured",
        "claude-code (pull)  not configured",
        "copilot (pull)  not configured",
        "cursor (pull)  not configured",
        "datadog (pull)  not configured",
        "github (pull)  not configured",
        "google-drive (pull)  not configured",
        "litellm (pull)  not configured",
        "openai (pull)  not configured",
    ]
    entries = sources_json(capsys)
    assert list(entries) == [
        "anthropic",
        "claude-code",
        "copilot",
        "cursor",
        "datadog",
        "github",
        "google-drive",
        "litellm",
        "openai",
    ]
    assert all(not e["configured"] and e["watermark"] is None for e in entries.values())


def test_json_per_source(ingested: datetime, capsys: pytest.CaptureFixture[str]) -> None:
    health = sources_json(capsys)
    assert list(health) == [
        "anthropic",
        "claude-code",
        "copilot",
        "cursor",
        "datadog",
        "github",
        "google-drive",
        "litellm",
        "openai",
        "usage",
    ]
    assert (health["openai"]["kind"], health["openai"]["configured"]) == ("pull", False)
    assert (health["usage"]["kind"], health["usage"]["configured"]) == ("push", True)
    openai, usage = health["openai"], health["usage"]
    assert openai["last_event_at"] == "2026-11-18T00:00:00Z"
    assert usage["last_event_at"] == "2026-11-19T08:00:00Z"  # +01:00 converted to UTC
    for entry in (openai, usage):
        received = datetime.fromisoformat(entry["last_received_at"])
        assert ingested <= received <= datetime.now(UTC)
    assert (openai["events"], openai["org_level_events"], openai["unattributed_events"]) == (
        2,
        1,
        1,
    )
    assert openai["unattributed_identities"] == [
        {"kind": "openai", "value": "user-zed", "events": 1}
    ]
    assert (usage["events"], usage["org_level_events"], usage["unattributed_events"]) == (4, 0, 3)
    assert usage["unattributed_identities"] == [
        {"kind": "openai", "value": "u-7", "events": 2},
        {"kind": "slack", "value": "U0BEN", "events": 1},
    ]


def test_readable_text(ingested: datetime, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    openai, usage = out.split("openai (pull)  not configured\n")[1].split("\nusage (push)\n")
    assert "  last event     2026-11-18 00:00:00 UTC" in openai
    assert "  events         2 (1 org-level, 1 unattributed)" in openai
    assert openai.splitlines()[-1] == "    openai user-zed: 1 event"
    assert "  last event     2026-11-19 08:00:00 UTC" in usage
    assert "  events         4 (0 org-level, 3 unattributed)" in usage
    assert "    openai u-7: 2 events" in usage
    assert "    slack U0BEN: 1 event" in usage
    assert "last received  20" in usage
    assert "ana@example.com" not in out  # attributed people are not listed


def test_identities_leave_the_list_once_mapped(
    ingested: datetime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "people.csv").write_text(
        "email,name,openai_user_id,slack_user_id\n"
        "zed@example.com,Zed,user-zed,\n"
        "ben@example.com,Ben,,U0BEN\n"
    )
    assert main(["directory", "import", "people.csv"]) == 0
    capsys.readouterr()
    health = sources_json(capsys)
    assert health["openai"]["unattributed_identities"] == []
    assert health["openai"]["org_level_events"] == 1  # org-level usage stays org-level
    assert health["usage"]["unattributed_identities"] == [
        {"kind": "openai", "value": "u-7", "events": 2}
    ]
    assert health["usage"]["unattributed_events"] == 2
