"""The integration guides under docs/ work as written: their config files load, say what the
guides say, and the requests they make are accepted by a running ai-roi."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from bot.context import AppContext
from tests.conftest import LiveServer, make_settings, serve_app

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "integrations"
VENDORS = Path(__file__).parent / "fixtures" / "vendors"


def env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def litellm_headers(value: str) -> dict[str, str]:
    """GENERIC_LOGGER_HEADERS as LiteLLM reads it: ``name=value`` pairs, comma-separated."""
    headers = {}
    for pair in value.split(","):
        name, _, header = pair.partition("=")
        headers[name.strip()] = header.strip()
    return headers


@pytest.fixture
def server_with(database_url: str, context: AppContext) -> Iterator[object]:
    """A running ai-roi whose only webhook credential is ``token`` (the one a guide uses)."""
    servers: list[LiveServer] = []

    def start(token: str) -> LiveServer:
        settings = make_settings(database_url, webhook_tokens=token, webhook_secrets=None)
        server = serve_app(AppContext(settings, context.engine, context.clock)).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def test_litellm_guide_posts_litellms_payload_to_ai_roi(server_with) -> None:  # type: ignore[no-untyped-def]
    config = yaml.safe_load((DOCS / "litellm-config.yaml").read_text())
    assert config["litellm_settings"]["callbacks"] == ["generic_api"]
    assert config["litellm_settings"]["turn_off_message_logging"] is True
    environment = env_file(DOCS / "litellm.env")
    assert set(environment) == {"GENERIC_LOGGER_ENDPOINT", "GENERIC_LOGGER_HEADERS"}
    endpoint = urlsplit(environment["GENERIC_LOGGER_ENDPOINT"])
    assert endpoint.path == "/webhooks/litellm"
    headers = litellm_headers(environment["GENERIC_LOGGER_HEADERS"])
    token = headers["Authorization"].removeprefix("Bearer ")
    guide = (DOCS / "litellm.md").read_text()
    assert environment["GENERIC_LOGGER_ENDPOINT"] in guide and 'callbacks: ["generic_api"]' in guide

    live = server_with(token)
    body = (VENDORS / "litellm-generic-api-batch.json").read_bytes()
    answer = live.client.post(
        endpoint.path, content=body, headers={**headers, "content-type": "application/json"}
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["accepted"] > 0 and answer.json()["rejected"] == []
    wrong = live.client.post(
        endpoint.path,
        content=body,
        headers={"Authorization": "Bearer not-the-token", "content-type": "application/json"},
    )
    assert wrong.status_code == 401


def resolve_env(text: str, values: dict[str, str]) -> str:
    """The Collector's ``${env:NAME}`` substitution."""
    return re.sub(r"\$\{env:([A-Z_]+)\}", lambda m: values[m.group(1)], text)


def test_otel_collector_guide_exports_traces_to_ai_roi(server_with) -> None:  # type: ignore[no-untyped-def]
    token = "collector-token-0123456789"
    live = server_with(token)
    raw = (DOCS / "otel-collector.yaml").read_text()
    assert set(re.findall(r"\$\{env:([A-Z_]+)\}", raw)) == {"AI_ROI_URL", "AI_ROI_WEBHOOK_TOKEN"}
    config = yaml.safe_load(
        resolve_env(raw, {"AI_ROI_URL": live.url, "AI_ROI_WEBHOOK_TOKEN": token})
    )
    (name,) = config["service"]["pipelines"]["traces"]["exporters"]
    assert name.split("/")[0] == "otlphttp"
    exporter = config["exporters"][name]
    assert exporter["encoding"] == "json"
    assert exporter["traces_endpoint"] == f"{live.url}/v1/traces"
    assert exporter["headers"] == {"Authorization": f"Bearer {token}"}
    assert config["service"]["pipelines"]["traces"]["receivers"] == ["otlp"]

    # What the otlphttp exporter sends: OTLP JSON, gzip by default, its headers.
    body = gzip.compress((VENDORS / "otel-genai-traces.json").read_bytes())
    answer = live.client.post(
        urlsplit(exporter["traces_endpoint"]).path,
        content=body,
        headers={
            **exporter["headers"],
            "content-type": "application/json",
            "content-encoding": "gzip",
        },
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["accepted"] > 0


def test_sdk_exporter_headers_in_the_guide_decode_to_the_bearer_header() -> None:
    guide = (DOCS / "otel-collector.md").read_text()
    (value,) = re.findall(r"OTEL_EXPORTER_OTLP_HEADERS=([^`\s]+)", guide)
    name, _, header = value.partition("=")
    assert name == "Authorization" and unquote(header).startswith("Bearer ")
    assert "OTEL_EXPORTER_OTLP_PROTOCOL=http/json" in guide
