"""Per source, what ``ai-roi sources`` and the admin App Home show: configured or not, last
success, watermark and lag, last error, unmapped identities, and for vendors that bill the
organisation, the billed cost beside the cost recorded per person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlmodel import Session

from bot.connectors import CONNECTORS
from bot.connectors.costs import billed_days
from bot.connectors.plan import midnight
from bot.settings import Settings
from bot.store.source_state import SourceStatus, all_statuses
from bot.store.sources import SourceHealth, recorded_cost_nanos, source_health


@dataclass(frozen=True)
class Reconciliation:
    first: date
    last: date
    billed_usd: Decimal
    recorded_usd: Decimal
    recorded_is_estimate: bool  # priced from list prices, not billed per person


@dataclass(frozen=True)
class SourceOverview:
    source: str
    kind: str  # "pull" (a connector) or "push"
    configured: bool
    state: SourceStatus | None
    health: SourceHealth | None
    lag: timedelta | None  # now − watermark (pull) or now − last event (push)
    reconciliation: Reconciliation | None
    viewers: str | None = None  # where an artifact source learns who viewed what


def source_overview(session: Session, settings: Settings, *, now: datetime) -> list[SourceOverview]:
    """Every pull source (configured or not) and every source that has sent events."""
    states = {state.source: state for state in all_statuses(session)}
    health = {h.source: h for h in source_health(session)}
    pull = {c.source: c for c in CONNECTORS}
    overview: list[SourceOverview] = []
    for name in sorted({*pull, *states, *health}):
        state = states.get(name)
        seen = health.get(name)
        connector = pull.get(name)
        if connector is not None:
            through = state.watermark if state else None
        else:
            through = seen.last_event_at if seen else None
        overview.append(
            SourceOverview(
                source=name,
                kind="pull" if connector else "push",
                configured=connector.configured(settings) if connector else True,
                state=state,
                health=seen,
                lag=None if through is None else max(now - through, timedelta(0)),
                reconciliation=_reconcile(
                    session, name, state, bool(connector and connector.estimates_cost)
                ),
                viewers=connector.viewers(settings)
                if connector is not None and (connector.configured(settings) or seen)
                else None,
            )
        )
    return overview


def _reconcile(
    session: Session, source: str, state: SourceStatus | None, estimated: bool
) -> Reconciliation | None:
    """Billed cost over the days the vendor's cost report was read (up to 90), beside the cost
    recorded for the source's usage on those days."""
    billed = billed_days(state.checkpoint if state else None)
    if not billed:
        return None
    first, last = min(billed), max(billed)
    nanos = recorded_cost_nanos(
        session, source, midnight(first), midnight(last + timedelta(days=1))
    )
    return Reconciliation(
        first,
        last,
        billed_usd=sum(billed.values(), Decimal(0)),
        recorded_usd=Decimal(nanos) / Decimal(10**9),
        recorded_is_estimate=estimated,
    )
