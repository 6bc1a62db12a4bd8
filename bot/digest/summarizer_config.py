"""Which summarizer a digest run uses: the environment (``OPENAI_*``) and the admin's App Home
choices (``llm_enabled``, ``llm_model``) together. LLM off, or no API key, means the template
writes every reflection and no request leaves the process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from bot.context import AppContext
from bot.digest.summarizer import Summarizer
from bot.settings import Settings
from bot.store import workspace


@dataclass(frozen=True)
class LlmConfig:
    """The summarizer settings in force: ``enabled`` is the admin's switch (on unless turned
    off), ``has_key`` whether ``OPENAI_API_KEY`` is set; both are needed for LLM calls."""

    enabled: bool
    model: str
    has_key: bool

    @property
    def active(self) -> bool:
        return self.enabled and self.has_key


def llm_config(settings: Settings, session: Session) -> LlmConfig:
    return LlmConfig(
        enabled=workspace.llm_enabled(session),
        model=workspace.llm_model(session) or settings.openai_model,
        has_key=bool(settings.openai_api_key),
    )


def summarizer_for(context: AppContext, session: Session, **options: Any) -> Summarizer:
    """The summarizer for one run; without a key (or with the LLM off) it never calls out."""
    settings = context.settings
    config = llm_config(settings, session)
    api_key = settings.openai_api_key if config.enabled else None
    return Summarizer(api_key, settings.openai_base_url, config.model, **options)
