"""What a connector is, and what it is given for one run.

A connector turns credentials and a base URL (from settings) and a window of days (planned from
its checkpoint, ``bot.connectors.plan``) into vendor pages handed to the adapters of DESIGN §3.5,
plus a watermark by the vendor's freshness rule. It does its I/O through two seams only: the
``Outbound`` of its vendor, and the ``PullRun`` that stores pages and learns identities.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from bot.connectors.plan import Window
from bot.domain.events import NormalizedEvent
from bot.outbound.http import Outbound
from bot.settings import Settings

# What a connector may change in an event the adapter made from one record (a cost estimate,
# requests counted by another report): (the adapter's record, its event) → the event.
Adjust = Callable[[Any, NormalizedEvent], NormalizedEvent]


class Sink(Protocol):
    """Where a run's pages and identities go (``bot.connectors.runner`` stores them)."""

    def ingest(self, source: str, document: Any, adjust: Adjust | None = None) -> None: ...

    def ingest_body(self, source: str, body: bytes, content_type: str) -> None: ...

    def learn_identities(self, kind: str, emails: Mapping[str, str]) -> None: ...

    def requests_stored(
        self, source: str, window: Window, *, except_keys: str | None = None
    ) -> dict[tuple[date, str, str], int]: ...


@dataclass
class PullRun:
    """One run of one connector: the window to fetch, the vendor's ``Outbound``, the sink."""

    source: str
    window: Window
    now: datetime
    outbound: Outbound
    checkpoint: dict[str, Any] | None
    sink: Sink
    settings: Settings

    def ingest(self, source: str, document: Any, adjust: Adjust | None = None) -> None:
        """Hand one vendor page to the adapter of ``source`` (stored idempotently);
        ``adjust`` may change each event the adapter makes, e.g. price it
        (``bot.connectors.prices.priced``)."""
        self.sink.ingest(source, document, adjust)

    def ingest_body(self, source: str, body: bytes, content_type: str) -> None:
        """Hand a downloaded report (e.g. NDJSON) to the adapter of ``source`` as it came."""
        self.sink.ingest_body(source, body, content_type)

    def learn_identities(self, kind: str, emails: Mapping[str, str]) -> None:
        """Vendor ids whose owner's email the vendor told us: (kind, id) → that person."""
        if emails:
            self.sink.learn_identities(kind, emails)

    def requests_stored(
        self, source: str, *, except_keys: str | None = None
    ) -> dict[tuple[date, str, str], int]:
        """Requests already stored from ``source`` within the window, by (UTC day, actor kind,
        actor value), leaving out keys that start with ``except_keys``: what another path (a
        webhook) brought in, for a connector that must not count it twice."""
        return self.sink.requests_stored(source, self.window, except_keys=except_keys)


@dataclass(frozen=True)
class PullResult:
    watermark: datetime | None
    checkpoint: dict[str, Any] = field(default_factory=dict)  # kept beside ``through``


class Connector(ABC):
    """One pull source. Subclasses set the class attributes and implement the three methods."""

    source: str  # the name in ``ai-roi pull SOURCE`` and ``source_state``
    credential: str  # the setting that turns it on (named in errors, never its value)
    interval: timedelta = timedelta(hours=1)  # how often ``serve`` pulls it
    estimates_cost = False  # prices tokens from list prices (``bot.connectors.prices``)

    @abstractmethod
    def configured(self, settings: Settings) -> bool:
        """Whether its credential (and whatever else it needs) is set."""

    def viewers(self, settings: Settings) -> str | None:
        """Where an artifact source learns who viewed what (``ai-roi sources``), if it is one."""
        return None

    @abstractmethod
    def outbound(self, settings: Settings) -> Outbound:
        """The vendor's ``Outbound``: authenticated client, gate, request budget."""

    @abstractmethod
    def pull(self, run: PullRun) -> PullResult:
        """Fetch ``run.window``, hand every page to ``run.ingest``; the watermark reached."""
