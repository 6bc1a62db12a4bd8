"""What every edge needs, built once by ``bot.wiring``: settings, the database, the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from bot.settings import Settings


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    engine: Engine
    clock: Callable[[], datetime] = system_clock
