"""Settings: read once from the environment (and ``.env``), validated, failing fast.

Nothing else in ai-roi reads ``os.environ``. Every variable is documented in ``.env.example``.
"""

from __future__ import annotations

import functools
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.domain.webhook_secrets import SecretFormatError, secret_key
from bot.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///./var/ai-roi.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_OPENAI_MODEL = "gpt-4.1-mini"
DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024
# Slack's own requests (events, slash commands, interactivity) are a few KiB; 1 MiB is ample.
DEFAULT_SLACK_MAX_BODY_BYTES = 1024 * 1024
# Connection limits of `ai-roi serve` (uvicorn): open connections beyond this get 503, request
# headers must arrive within the header timeout, a whole body within the body timeout, and an
# idle keep-alive connection is closed after the keep-alive time.
DEFAULT_HTTP_MAX_CONNECTIONS = 200
DEFAULT_HTTP_HEADER_TIMEOUT = 10.0
DEFAULT_HTTP_BODY_TIMEOUT = 30.0
DEFAULT_HTTP_KEEP_ALIVE = 5
DEFAULT_SLACK_MESSAGES_PER_MINUTE = 60  # chat.postMessage: about one per second per channel
DEFAULT_OPENAI_ADMIN_BASE_URL = "https://api.openai.com/v1"
DEFAULT_ANTHROPIC_BASE_URL = "https://api.anthropic.com"
DEFAULT_CURSOR_API_URL = "https://api.cursor.com"
DEFAULT_GITHUB_API_URL = "https://api.github.com"
DEFAULT_DATADOG_API_URL = "https://api.datadoghq.com"
DEFAULT_GOOGLE_ADMIN_API_URL = "https://admin.googleapis.com"
DEFAULT_GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
DEFAULT_PULL_TRAILING_DAYS = 7  # vendors restate recent days: each pull re-fetches this many
DEFAULT_PULL_BACKFILL_DAYS = 30  # a source's first pull reaches this far back

# Values copied from .env.example without being filled in.
_PLACEHOLDERS = {"changeme", "change-me", "xoxb-your-token", "xapp-your-token", "your-secret"}


@functools.lru_cache(maxsize=64)
def _split_csv(value: str | None) -> tuple[str, ...]:
    """The entries of a comma-separated setting (cached: the webhook routes ask on every
    request)."""
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


class Settings(BaseSettings):
    """The whole configuration of one ai-roi process (DESIGN §3.1)."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,
        case_sensitive=False,
        frozen=True,
    )

    database_url: str = DEFAULT_DATABASE_URL
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    slack_messages_per_minute: int = Field(default=DEFAULT_SLACK_MESSAGES_PER_MINUTE, ge=1)
    webhook_secrets: str | None = None
    webhook_tokens: str | None = None
    webhook_max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, gt=0)
    slack_max_body_bytes: int = Field(default=DEFAULT_SLACK_MAX_BODY_BYTES, gt=0)
    http_max_connections: int = Field(default=DEFAULT_HTTP_MAX_CONNECTIONS, ge=1)
    http_header_timeout_seconds: float = Field(default=DEFAULT_HTTP_HEADER_TIMEOUT, gt=0)
    http_body_timeout_seconds: float = Field(default=DEFAULT_HTTP_BODY_TIMEOUT, gt=0)
    http_keep_alive_seconds: int = Field(default=DEFAULT_HTTP_KEEP_ALIVE, ge=1)
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    openai_model: str = DEFAULT_OPENAI_MODEL
    org_timezone: str = "UTC"
    digest_delivery: Literal["slack", "console"] | None = None
    admin_user_ids: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    # Pull connectors (DESIGN §3.7): each is on when its credential is set.
    openai_admin_key: str | None = None
    openai_admin_base_url: str = DEFAULT_OPENAI_ADMIN_BASE_URL
    anthropic_admin_key: str | None = None
    anthropic_base_url: str = DEFAULT_ANTHROPIC_BASE_URL
    cursor_admin_key: str | None = None
    cursor_api_url: str = DEFAULT_CURSOR_API_URL
    cursor_calls_per_minute: int = Field(default=20, ge=1, le=6000)  # the Admin API's limit
    github_token: str | None = None
    github_org: str | None = None
    github_enterprise: str | None = None
    github_api_url: str = DEFAULT_GITHUB_API_URL
    github_webhook_secret: str | None = None  # POST /webhooks/github (X-Hub-Signature-256)
    litellm_base_url: str | None = None
    litellm_api_key: str | None = None
    datadog_api_key: str | None = None
    datadog_app_key: str | None = None
    datadog_api_url: str = DEFAULT_DATADOG_API_URL
    google_service_account_file: str | None = None
    google_admin_email: str | None = None
    google_admin_api_url: str = DEFAULT_GOOGLE_ADMIN_API_URL
    google_token_url: str = DEFAULT_GOOGLE_TOKEN_URL
    pull_trailing_days: int = Field(default=DEFAULT_PULL_TRAILING_DAYS, ge=0, le=90)
    pull_trailing_days_by_source: str | None = None  # "claude-code=3,openai=2"
    pull_backfill_days: int = Field(default=DEFAULT_PULL_BACKFILL_DAYS, ge=1, le=366)

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "webhook_secrets",
        "webhook_tokens",
        "openai_api_key",
        "openai_base_url",
        "admin_user_ids",
        "openai_admin_key",
        "anthropic_admin_key",
        "cursor_admin_key",
        "github_token",
        "github_org",
        "github_enterprise",
        "github_webhook_secret",
        "litellm_base_url",
        "litellm_api_key",
        "datadog_api_key",
        "datadog_app_key",
        "google_service_account_file",
        "google_admin_email",
        "pull_trailing_days_by_source",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format_lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "openai_api_key",
        "openai_admin_key",
        "anthropic_admin_key",
        "cursor_admin_key",
        "github_token",
        "github_webhook_secret",
        "litellm_api_key",
        "datadog_api_key",
        "datadog_app_key",
    )
    @classmethod
    def _no_placeholders(cls, value: str | None) -> str | None:
        if value is not None and value.strip().lower() in _PLACEHOLDERS:
            raise ValueError("is still the placeholder from .env.example; set a real value")
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("xoxb-"):
            raise ValueError("must be a bot token starting with 'xoxb-'")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("xapp-"):
            raise ValueError("must be an app-level token starting with 'xapp-'")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_shape(cls, value: str) -> str:
        # postgresql:// and postgres:// are what hosting providers hand out: use psycopg 3 for them.
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value.removeprefix(prefix)
        if not value.startswith(("sqlite://", "postgresql+psycopg://")):
            raise ValueError(
                "must be a sqlite:/// or postgresql:// URL (postgresql+psycopg:// also works)"
            )
        return value

    @field_validator("org_timezone")
    @classmethod
    def _timezone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    @field_validator("webhook_secrets")
    @classmethod
    def _secrets_shape(cls, value: str | None) -> str | None:
        # Refused at start, so a bad entry can neither break rotation nor be told to callers;
        # the message says which entry, never its value.
        secrets = _split_csv(value)
        for number, secret in enumerate(secrets, start=1):
            where = f"entry {number} of {len(secrets)}: " if len(secrets) > 1 else ""
            if not secret.startswith("whsec_"):
                raise ValueError(f"{where}each secret must start with 'whsec_' (Standard Webhooks)")
            try:
                secret_key(secret)
            except SecretFormatError as exc:
                raise ValueError(f"{where}{exc}") from None
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator(
        "openai_admin_base_url",
        "anthropic_base_url",
        "cursor_api_url",
        "github_api_url",
        "litellm_base_url",
        "datadog_api_url",
        "google_admin_api_url",
        "google_token_url",
    )
    @classmethod
    def _base_url_shape(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return None if value is None else value.rstrip("/")

    @field_validator("google_admin_email")
    @classmethod
    def _admin_email_shape(cls, value: str | None) -> str | None:
        if value is not None and ("@" not in value or value.strip() != value):
            raise ValueError("must be the email address of a Google Workspace administrator")
        return value

    @field_validator("pull_trailing_days_by_source")
    @classmethod
    def _trailing_days_shape(cls, value: str | None) -> str | None:
        _trailing_days_overrides(value)
        return value

    @model_validator(mode="after")
    def _slack_delivery_needs_token(self) -> Settings:
        if self.digest_delivery == "slack" and not self.slack_bot_token:
            raise ValueError("DIGEST_DELIVERY=slack needs SLACK_BOT_TOKEN")
        return self

    # Derived views -----------------------------------------------------------------------

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.org_timezone)

    @property
    def webhook_secret_list(self) -> tuple[str, ...]:
        return _split_csv(self.webhook_secrets)

    @property
    def webhook_token_list(self) -> tuple[str, ...]:
        return _split_csv(self.webhook_tokens)

    @property
    def admin_user_id_list(self) -> tuple[str, ...]:
        return _split_csv(self.admin_user_ids)

    @property
    def delivery(self) -> Literal["slack", "console"]:
        if self.digest_delivery is not None:
            return self.digest_delivery
        return "slack" if self.slack_bot_token else "console"

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token))

    @property
    def summarizer_enabled(self) -> bool:
        return bool(self.openai_api_key)

    def trailing_days(self, source: str) -> int:
        """How many recent days each pull of ``source`` fetches again (vendors restate them)."""
        return _trailing_days_overrides(self.pull_trailing_days_by_source).get(
            source, self.pull_trailing_days
        )


def _trailing_days_overrides(value: str | None) -> dict[str, int]:
    """``"claude-code=3,openai=2"`` as a mapping; ``ValueError`` naming the bad part."""
    overrides: dict[str, int] = {}
    for part in _split_csv(value):
        source, _, days = part.partition("=")
        if not source.strip() or not days.strip().isdigit() or int(days) > 90:
            raise ValueError(f"{part!r} is not SOURCE=DAYS with DAYS from 0 to 90")
        overrides[source.strip()] = int(days)
    return overrides


def load_settings(env_file: str | None = ".env", **overrides: Any) -> Settings:
    """Read and validate the settings once; raise ``ConfigError`` naming the bad variable."""
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "configuration"
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{name}: {message}")
        raise ConfigError("; ".join(problems)) from None
