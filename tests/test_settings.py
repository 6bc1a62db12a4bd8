"""Settings are read once, validated, and fail with a message naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import load_settings


def test_defaults_need_no_accounts() -> None:
    settings = load_settings(env_file=None)
    assert settings.database_url == "sqlite:///./var/ai-roi.db"
    assert settings.delivery == "console"
    assert not settings.slack_enabled and not settings.summarizer_enabled
    assert settings.webhook_token_list == () and settings.webhook_secret_list == ()
    assert str(settings.timezone) == "UTC"


def test_environment_and_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_TOKENS", " a-token , b-token ,")
    monkeypatch.setenv("ADMIN_USER_IDS", "U1,U2")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-3")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "abc")
    settings = load_settings(env_file=None)
    assert settings.webhook_token_list == ("a-token", "b-token")
    assert settings.admin_user_id_list == ("U1", "U2")
    assert settings.delivery == "slack" and settings.slack_enabled


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ORG_TIMEZONE=Europe/Berlin\nOPENAI_API_KEY=sk-test\n")
    settings = load_settings()
    assert settings.org_timezone == "Europe/Berlin" and settings.summarizer_enabled


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ORG_TIMEZONE", "Mars/Olympus", "ORG_TIMEZONE: unknown time zone"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
        ("DATABASE_URL", "postgresql+psycopg2://u:hunter2@h/db", "DATABASE_URL: must be a sqlite"),
        ("SLACK_BOT_TOKEN", "xoxp-user-token", "SLACK_BOT_TOKEN: must be a bot token"),
        ("SLACK_BOT_TOKEN", "xoxb-your-token", "SLACK_BOT_TOKEN: is still the placeholder"),
        ("WEBHOOK_SECRETS", "plainsecret", "WEBHOOK_SECRETS"),
        ("WEBHOOK_MAX_BODY_BYTES", "-1", "WEBHOOK_MAX_BODY_BYTES"),
        ("DIGEST_DELIVERY", "email", "DIGEST_DELIVERY"),
        ("PORT", "99999", "PORT"),
        ("GOOGLE_ADMIN_EMAIL", "admin", "GOOGLE_ADMIN_EMAIL: must be the email address"),
        ("DATADOG_API_URL", "api.datadoghq.eu", "DATADOG_API_URL: must be an http"),
        ("GOOGLE_TOKEN_URL", "oauth2.googleapis.com/token", "GOOGLE_TOKEN_URL: must be an http"),
    ],
)
def test_invalid_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_settings(env_file=None)


@pytest.mark.parametrize(
    "url",
    ["postgresql://u:pw@db.example.com:5432/app", "postgres://u:pw@db.example.com:5432/app"],
)
def test_hosted_postgres_urls_use_psycopg(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    settings = load_settings(env_file=None)
    assert settings.database_url == "postgresql+psycopg://u:pw@db.example.com:5432/app"


def test_slack_delivery_without_a_token_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGEST_DELIVERY", "slack")
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        load_settings(env_file=None)


def test_secrets_never_appear_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxq-very-secret-value")
    with pytest.raises(ConfigError) as error:
        load_settings(env_file=None)
    assert "very-secret" not in str(error.value)
