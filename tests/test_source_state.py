"""Per-source checkpoints and watermarks: kept across runs, a watermark never moves back, a
failure keeps the last good state and counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from bot.store import source_state
from bot.store.db import transaction

NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


def test_success_keeps_the_checkpoint_and_moves_the_watermark_only_forward(engine: Engine) -> None:
    day = datetime(2026, 11, 23, tzinfo=UTC)
    with transaction(engine) as session:
        assert source_state.status(session, "openai") is None
        source_state.record_success(
            session, "openai", now=NOW, checkpoint={"day": "2026-11-23"}, watermark=day, rows=40
        )
    with transaction(engine) as session:
        later = source_state.record_success(
            session,
            "openai",
            now=NOW + timedelta(hours=1),
            checkpoint={"day": "2026-11-24"},
            watermark=day - timedelta(days=2),  # a re-pull of an older window
            rows=5,
        )
    assert later.watermark == day and later.checkpoint == {"day": "2026-11-24"}
    assert later.rows_pulled == 45 and later.last_success_at == NOW + timedelta(hours=1)


def test_failures_count_until_a_success_and_keep_the_last_good_state(engine: Engine) -> None:
    day = datetime(2026, 11, 22, tzinfo=UTC)
    with transaction(engine) as session:
        source_state.record_success(
            session, "cursor", now=NOW, checkpoint={"page": 3}, watermark=day, rows=1
        )
        source_state.record_failure(session, "cursor", now=NOW, error="cursor: refused (401)")
        failed = source_state.record_failure(session, "cursor", now=NOW, error="x" * 5000)
    assert failed.consecutive_failures == 2 and len(failed.last_error or "") == 500
    assert failed.watermark == day and failed.checkpoint == {"page": 3}
    with transaction(engine) as session:
        healed = source_state.record_success(
            session, "cursor", now=NOW, checkpoint={"page": 4}, watermark=None, rows=0
        )
        assert [s.source for s in source_state.all_statuses(session)] == ["cursor"]
    assert healed.consecutive_failures == 0 and healed.last_error is None
