"""Table models. Data access lives in the sibling modules, which take the session as an argument.

Every timestamp is timezone-aware UTC in Python (``UTCDateTime`` stores naive UTC on SQLite and
``timestamptz`` on PostgreSQL). Money is integer nano-dollars.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the database keeps."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(nullable: bool = False, **kwargs: Any) -> Any:
    return Field(sa_column=sa.Column(UTCDateTime(), nullable=nullable, **kwargs))


class Person(SQLModel, table=True):
    __tablename__ = "people"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_column=sa.Column(sa.String(320), nullable=False, unique=True))
    name: str | None = Field(default=None, max_length=200)
    slack_user_id: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(32), unique=True, nullable=True)
    )
    tz: str | None = Field(default=None, max_length=64)
    is_slack_admin: bool = Field(default=False)
    # Personal digest settings (App Home): weekday 0 = Monday, minutes after local midnight.
    digest_weekday: int | None = Field(default=None)
    digest_minute: int | None = Field(default=None)
    snoozed_until: datetime | None = _ts(nullable=True)
    opted_out: bool = Field(default=False)
    share_with_lead_default: bool = Field(default=False)
    created_at: datetime = _ts(default=utcnow)
    updated_at: datetime = _ts(default=utcnow, onupdate=utcnow)


class Identity(SQLModel, table=True):
    """A vendor's id for a person: (kind, value) → person. Kinds: openai, anthropic, github, …"""

    __tablename__ = "identities"
    __table_args__ = (sa.UniqueConstraint("kind", "value", name="uq_identities_kind_value"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    value: str = Field(max_length=320)
    person_id: int = Field(
        sa_column=sa.Column(
            sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    origin: str = Field(default="directory", max_length=32)
    created_at: datetime = _ts(default=utcnow)


class Team(SQLModel, table=True):
    __tablename__ = "teams"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False, unique=True))
    parent_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.ForeignKey("teams.id", ondelete="SET NULL"), nullable=True),
    )
    slack_usergroup_id: str | None = Field(default=None, max_length=32)
    created_at: datetime = _ts(default=utcnow)


class Membership(SQLModel, table=True):
    """A person in a team as a member, a lead, or both."""

    __tablename__ = "memberships"

    team_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    )
    person_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    )
    is_member: bool = Field(default=True)
    is_lead: bool = Field(default=False)
    joined_at: datetime = _ts(default=utcnow)


class Artifact(SQLModel, table=True):
    """Something AI helped make: a dashboard, report, deck, PR… keyed by (source, external_id).

    Its creator is the person on its ``artifact.created`` event, so attribution stays in one place.
    """

    __tablename__ = "artifacts"
    __table_args__ = (
        sa.UniqueConstraint("source", "external_id", name="uq_artifacts_source_external"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    external_id: str = Field(max_length=200)
    kind: str = Field(default="other", max_length=32)
    kind_label: str | None = Field(default=None, max_length=200)
    title: str | None = Field(default=None, max_length=200)
    created_at: datetime = _ts(default=utcnow)
    # AI-assisted (DESIGN §3.7): marked by its source (``ai_marked_by`` = "source") or by an
    # admin rule ("rule:<id>"); ``traits`` is the JSON of ``ArtifactTraits`` the rules read.
    ai_assisted: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    ai_tool: str | None = Field(default=None, max_length=200)
    ai_marked_by: str | None = Field(default=None, max_length=64)
    traits: str | None = Field(default=None, sa_type=sa.Text)


class AiRule(SQLModel, table=True):
    """An admin rule marking artifacts AI-assisted (``bot.domain.ai_rules.Rule``), tried in id
    order. Built-in rules are seeded by the migration that made the table and can be switched
    off, not deleted."""

    __tablename__ = "ai_rules"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    pattern: str = Field(max_length=200)
    tool: str | None = Field(default=None, max_length=64)
    enabled: bool = Field(default=True)
    builtin: bool = Field(default=False)
    created_at: datetime = _ts(default=utcnow)
    updated_at: datetime = _ts(default=utcnow, onupdate=utcnow)
    updated_by: str | None = Field(default=None, max_length=64)


class Event(SQLModel, table=True):
    """One stored event: usage, or something that happened to an artifact.

    ``(source, key)`` is the idempotency key. ``person_id`` is empty while the actor's identity
    is unknown (kept in ``actor_kind``/``actor_value`` and attributed later) and for org-level
    usage (no actor at all).
    """

    __tablename__ = "events"
    __table_args__ = (
        sa.UniqueConstraint("source", "key", name="uq_events_source_key"),
        sa.Index("ix_events_person_time", "person_id", "occurred_at"),
        # Only the rows about an artifact: usage events, most of the table, have none. Time and
        # person too, so "viewed by someone else before the week's end" and "used before it"
        # are answered from the index (migration 0012).
        sa.Index(
            "ix_events_artifact",
            "artifact_id",
            "type",
            "occurred_at",
            "person_id",
            sqlite_where=sa.text("artifact_id IS NOT NULL"),
            postgresql_where=sa.text("artifact_id IS NOT NULL"),
        ),
        # Only the rows whose person is not known yet: the queries that use it read no others.
        sa.Index(
            "ix_events_unattributed",
            "actor_kind",
            "actor_value",
            sqlite_where=sa.text("person_id IS NULL"),
            postgresql_where=sa.text("person_id IS NULL"),
        ),
        # Type, person and artifact after the time: a range of one kind of event is read from
        # the index, the other kinds' rows never (migration 0013).
        sa.Index("ix_events_time", "occurred_at", "type", "person_id", "artifact_id"),
    )

    # 64-bit on PostgreSQL (migration 0010), SQLite's rowid (always 64-bit) elsewhere.
    id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    )
    source: str = Field(max_length=32)
    key: str = Field(max_length=255)
    type: str = Field(max_length=32)
    occurred_at: datetime = _ts()
    received_at: datetime = _ts(default=utcnow)
    person_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=True),
    )
    actor_kind: str | None = Field(default=None, max_length=32)
    actor_value: str | None = Field(default=None, max_length=320)
    tool: str | None = Field(default=None, max_length=200)
    model: str | None = Field(default=None, max_length=200)
    input_tokens: int = Field(default=0, sa_type=sa.BigInteger)
    cached_tokens: int = Field(default=0, sa_type=sa.BigInteger)
    output_tokens: int = Field(default=0, sa_type=sa.BigInteger)
    cost_nanos: int = Field(default=0, sa_type=sa.BigInteger)
    requests: int = Field(default=0, sa_type=sa.BigInteger)
    artifact_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.ForeignKey("artifacts.id", ondelete="CASCADE"), nullable=True),
    )
    metrics: str | None = Field(default=None, sa_type=sa.Text)


class Delivery(SQLModel, table=True):
    """One digest for one person-week: claimed (pending) before sending, then sent/failed/skipped."""

    __tablename__ = "deliveries"
    __table_args__ = (sa.UniqueConstraint("person_id", "week", name="uq_deliveries_person_week"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False)
    )
    week: str = Field(max_length=8)
    status: str = Field(default="pending", max_length=16)
    reason: str | None = Field(default=None, max_length=500)
    channel: str = Field(default="console", max_length=16)
    writer: str | None = Field(default=None, max_length=16)
    summarizer_input_tokens: int = Field(default=0)
    summarizer_output_tokens: int = Field(default=0)
    text: str | None = Field(default=None, sa_type=sa.Text)
    facts_json: str | None = Field(default=None, sa_type=sa.Text)
    slack_channel: str | None = Field(default=None, max_length=32)
    slack_ts: str | None = Field(default=None, max_length=32)
    chart_file_id: str | None = Field(default=None, max_length=32)  # the DM's uploaded chart
    attempts: int = Field(default=0)
    feedback: str | None = Field(default=None, max_length=16)
    shared_with_lead_at: datetime | None = _ts(nullable=True)
    lease_until: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts(default=utcnow)
    updated_at: datetime = _ts(default=utcnow, onupdate=utcnow)
    sent_at: datetime | None = _ts(nullable=True)


class WorkspaceSetting(SQLModel, table=True):
    """Admin-editable settings (thresholds, k, schedule, LLM, retention) as JSON values by key."""

    __tablename__ = "workspace_settings"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_type=sa.Text)
    updated_at: datetime = _ts(default=utcnow, onupdate=utcnow)
    updated_by: str | None = Field(default=None, max_length=64)


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(default=utcnow)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64)
    target: str | None = Field(default=None, max_length=200)
    details: str | None = Field(default=None, sa_type=sa.Text)


class WeeklyTotal(SQLModel, table=True):
    """One person's totals for one ISO week, kept after the week's raw events are purged.

    Filled by the retention job from the events it is about to delete (``bot.store.retention``),
    added to what an earlier purge of the same week stored, so each event counts exactly once.
    ``week_start`` is the week's Monday 00:00 in the organisation's time zone, as UTC.
    """

    __tablename__ = "weekly_totals"

    person_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    )
    week: str = Field(sa_column=sa.Column(sa.String(8), primary_key=True))
    week_start: datetime = _ts(index=True)
    input_tokens: int = Field(default=0, sa_type=sa.BigInteger)
    cached_tokens: int = Field(default=0, sa_type=sa.BigInteger)
    output_tokens: int = Field(default=0, sa_type=sa.BigInteger)
    cost_nanos: int = Field(default=0, sa_type=sa.BigInteger)
    requests: int = Field(default=0, sa_type=sa.BigInteger)
    artifacts_created: int = Field(default=0)
    artifacts_viewed_by_others: int = Field(default=0)
    artifacts_used: int = Field(default=0)
    ai_artifacts_created: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    ai_artifacts_viewed_by_others: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    ai_artifacts_used: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    updated_at: datetime = _ts(default=utcnow, onupdate=utcnow)


class SourceState(SQLModel, table=True):
    """What ai-roi knows of one data source's completeness, one row per source.

    Pull connectors (``bot.connectors``) keep their checkpoint here (an opaque JSON object the
    connector reads back on its next run) and move ``watermark`` — the instant the source's data
    is complete through, by the vendor's own freshness rules — after each successful run. The
    digest waits for the watermarks of every enabled source (DESIGN §4). Push sources need no row:
    their watermark is the latest event they sent.
    """

    __tablename__ = "source_state"

    source: str = Field(primary_key=True, max_length=32)
    checkpoint: str | None = Field(default=None, sa_type=sa.Text)  # JSON, the connector's own
    watermark: datetime | None = _ts(nullable=True)
    last_run_at: datetime | None = _ts(nullable=True)
    last_success_at: datetime | None = _ts(nullable=True)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    consecutive_failures: int = Field(default=0)
    rows_pulled: int = Field(
        default=0, sa_type=sa.BigInteger
    )  # records handed to the adapters, all runs


class WebhookReceipt(SQLModel, table=True):
    """A signed webhook message already accepted, by a digest of its ``webhook-id``.

    Kept for as long as the message's signature could still be accepted (the timestamp
    tolerance on either side), so a replay — on any replica — changes nothing. Purged after.
    """

    __tablename__ = "webhook_receipts"

    id_digest: str = Field(primary_key=True, max_length=64)  # sha256 hex of the webhook-id
    received_at: datetime = _ts(index=True)


class MembershipPeriod(SQLModel, table=True):
    """One stretch of a person's membership of a team: joined, and left (``None`` while a member).

    ``Membership`` is the present; these rows are the history that team reports for past weeks
    read, so a later join or leave never changes a week already reported (DESIGN §5.2).
    """

    __tablename__ = "membership_periods"
    __table_args__ = (sa.Index("ix_membership_periods_team_person", "team_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("teams.id", ondelete="CASCADE"), nullable=False)
    )
    person_id: int = Field(
        sa_column=sa.Column(
            sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    joined_at: datetime = _ts()
    left_at: datetime | None = _ts(nullable=True)


class PrivacyWeek(SQLModel, table=True):
    """One row per ISO week whose team reports were decided: the lock that serialises deciding."""

    __tablename__ = "privacy_weeks"

    week: str = Field(primary_key=True, max_length=8)  # "2026-W47"
    first_decided_at: datetime = _ts(default=utcnow)


class PrivacyRelease(SQLModel, table=True):
    """The ledger: one released sum (a team total or one tool line of it) in one week."""

    __tablename__ = "privacy_releases"

    id: int | None = Field(default=None, primary_key=True)
    week: str = Field(
        sa_column=sa.Column(
            sa.String(8),
            sa.ForeignKey("privacy_weeks.week", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    cell: str = Field(max_length=300)  # "org", "team:3", "team:3/chatgpt"
    released_at: datetime = _ts(default=utcnow)


class PrivacyReleaseCoord(SQLModel, table=True):
    """The coordinates a released sum covers: ``(person, part)`` as in ``bot.domain.privacy``."""

    __tablename__ = "privacy_release_coords"

    release_id: int = Field(
        sa_column=sa.Column(
            sa.ForeignKey("privacy_releases.id", ondelete="CASCADE"), primary_key=True
        )
    )
    person_id: int = Field(
        sa_column=sa.Column(
            sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )
    part: str = Field(sa_column=sa.Column(sa.String(200), primary_key=True))
