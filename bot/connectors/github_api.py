"""GitHub's REST API as both GitHub connectors call it: one client, one token, one version."""

from __future__ import annotations

import httpx

from bot.outbound.clients import http_client
from bot.settings import Settings

GITHUB_API_VERSION = "2022-11-28"


def github_client(settings: Settings) -> httpx.Client:
    """The HTTP client of GitHub's REST API with the token, for Copilot and pull requests alike
    (they share the token's rate limit, and the gate ``github``)."""
    assert settings.github_token is not None
    return http_client(
        settings.github_api_url + "/",
        headers={
            "Authorization": f"Bearer {settings.github_token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": GITHUB_API_VERSION,
        },
    )
