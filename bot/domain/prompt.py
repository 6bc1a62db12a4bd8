"""The summarizer's prompt: one person's facts, the writing rules, and a token budget.

Pure: facts in, chat messages out. The prompt carries this person's facts only (their email
address removed), never raw events and never anyone else's data. It is kept within
``MAX_INPUT_TOKENS`` by folding the long tails of tools and artifact kinds into ``"other"``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.facts import Facts, KindCounts, ToolUsage
from bot.domain.units import format_usd

MAX_INPUT_TOKENS = 1000
MAX_OUTPUT_TOKENS = 150
MAX_WORDS = 60

# Token estimate: UTF-8 bytes / 3 overestimates English prose (about 4 characters a token) and
# matches number-heavy JSON; non-Latin scripts count as more bytes, hence more tokens.
BYTES_PER_TOKEN = 3.0
TOKENS_PER_MESSAGE = 4
TOKENS_REPLY_PRIMING = 3

OTHER = "other"
MAX_LABEL_CHARS = 40
_REDACTED = "[redacted]"
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_NAME_DROP_RE = re.compile(r"[^\w .'\-]|[\d_]")

SYSTEM_PROMPT = f"""\
You write a private weekly note to one person about their AI use at work. Only they read it.
Rules:
- At most {MAX_WORDS} words of plain text: no headings, no lists, no markdown.
- Speak to them as "you". Be specific, kind and brief.
- First praise what others opened or used, then mention what went unused.
- Never rank them or compare them with other people or teams.
- Use only numbers from the facts, or a simple percentage or difference of them. \
Never invent, estimate or add a number. Write big counts like 1.9M or 120K, money like $23.40 (whole dollars from $100: $1,204).
- No other names, email addresses or @mentions.
- End with exactly one question that helps them choose what to do next week.
Facts: tokens.input includes cached tokens. artifacts.viewed_by_others counts their artifacts \
someone else opened; used means merged, shipped or exported; viewers is how many colleagues \
opened something. For pull requests, viewed_by_others means reviewed by a colleague and used \
means merged. artifacts.ai counts only the artifacts marked AI-assisted: when it is present, \
lead with those numbers. baseline.tokens_median is their own median of the previous weeks. \
nudges name what deserves a gentle mention."""


@dataclass(frozen=True)
class _Trim:
    """How much detail one attempt keeps: ``keep`` tools and kinds (None = all)."""

    keep: int | None
    weekly_history: bool
    nudge_detail: bool


# Tried in order until the prompt fits the budget.
_TRIM_STEPS = (
    _Trim(keep=None, weekly_history=True, nudge_detail=True),
    _Trim(keep=8, weekly_history=True, nudge_detail=True),
    _Trim(keep=5, weekly_history=True, nudge_detail=True),
    _Trim(keep=3, weekly_history=False, nudge_detail=True),
    _Trim(keep=1, weekly_history=False, nudge_detail=False),
    _Trim(keep=0, weekly_history=False, nudge_detail=False),
)

# Where the lists of tools, models and kinds may be cut, the rest summed into "other".
FOLD_POINTS = tuple(trim.keep for trim in _TRIM_STEPS if trim.keep is not None)


def build_messages(
    facts: Facts, *, first_name: str | None, week_label: str
) -> list[dict[str, str]]:
    """The system and user messages for one person's reflection, trimmed to fit the budget.

    If even the most trimmed prompt is over ``MAX_INPUT_TOKENS`` it is returned anyway; callers
    check ``fits_budget`` and fall back to the template.
    """
    messages: list[dict[str, str]] = []
    for trim in _TRIM_STEPS:
        messages = _messages(facts, first_name=first_name, week_label=week_label, trim=trim)
        if fits_budget(messages):
            break
    return messages


def estimate_tokens(messages: Sequence[Mapping[str, str]]) -> int:
    """A conservative (high) estimate of the input tokens a chat request costs."""
    total = TOKENS_REPLY_PRIMING
    for message in messages:
        size = len(message.get("content", "").encode("utf-8"))
        total += TOKENS_PER_MESSAGE + math.ceil(size / BYTES_PER_TOKEN)
    return total


def fits_budget(messages: Sequence[Mapping[str, str]]) -> bool:
    return estimate_tokens(messages) <= MAX_INPUT_TOKENS


def ranked_tools(facts: Facts) -> list[ToolUsage]:
    """Tools by tokens, then cost, then name: the order the prompt keeps them in."""
    return sorted(facts.by_tool, key=lambda t: (-t.tokens, -t.cost_nanos, t.tool))


def ranked_models(facts: Facts) -> list[ToolUsage]:
    """Models in the same order as tools."""
    return sorted(facts.by_model, key=lambda t: (-t.tokens, -t.cost_nanos, t.tool))


def ranked_kinds(facts: Facts) -> list[KindCounts]:
    """Artifact kinds by created, then viewed by others, then used, then name."""
    return sorted(facts.by_kind, key=lambda k: (-k.created, -k.viewed_by_others, -k.used, k.kind))


def clean_first_name(first_name: str | None) -> str | None:
    """Letters, spaces, hyphens and apostrophes only (a display name is user input)."""
    if not first_name:
        return None
    cleaned = " ".join(_NAME_DROP_RE.sub(" ", first_name).split())[:MAX_LABEL_CHARS].strip()
    return cleaned or None


def clean_label(label: str) -> str:
    """A tool or kind name as the prompt shows it: no control characters, at most 40 chars."""
    return _CONTROL_RE.sub(" ", label).strip()[:MAX_LABEL_CHARS] or OTHER


# Building ---------------------------------------------------------------------------------


def _messages(
    facts: Facts, *, first_name: str | None, week_label: str, trim: _Trim
) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": _user_content(facts, first_name, week_label, trim)},
    ]


def _user_content(facts: Facts, first_name: str | None, week_label: str, trim: _Trim) -> str:
    name = clean_first_name(first_name)
    label = _CONTROL_RE.sub(" ", week_label).strip()[:MAX_LABEL_CHARS]
    who = f"{name}'s" if name else "this person's"
    data = json.dumps(
        prompt_facts(facts, trim), separators=(",", ":"), ensure_ascii=False, default=str
    )
    return f"Write {who} reflection for the week {label}.\nTheir facts (JSON): {data}"


def prompt_facts(facts: Facts, trim: _Trim = _TRIM_STEPS[0]) -> dict[str, Any]:
    """``facts.to_json()`` without the email address, its long tails folded into ``other``."""
    data = facts.to_json()
    data.pop("user", None)
    data["by_tool"] = _tools_json(ranked_tools(facts), trim.keep)
    if "by_model" in data:
        data["by_model"] = _tools_json(ranked_models(facts), trim.keep)
    data["artifacts"]["by_kind"] = _kinds_json(ranked_kinds(facts), trim.keep)
    if facts.ai_marks_in_org:
        ai = data["artifacts"]["ai"]
        ai.pop("marks_in_org", None)
        ai_kinds = sorted(facts.ai_by_kind, key=lambda k: (-k.created, -k.viewed_by_others, k.kind))
        ai["by_kind"] = _kinds_json(ai_kinds, trim.keep)
    else:  # nothing is marked: the AI-assisted counts would only mislead
        data["artifacts"].pop("ai", None)
    if not trim.weekly_history:
        data["baseline"].pop("tokens_by_week", None)
    if not trim.nudge_detail:
        data["nudges"] = [_nudge_summary(n) for n in facts.nudges]
    scrubbed: dict[str, Any] = _scrub(data)
    return scrubbed


def _tools_json(tools: list[ToolUsage], keep: int | None) -> dict[str, dict[str, Any]]:
    shown, tail = (tools, []) if keep is None else (tools[:keep], tools[keep:])
    sums: dict[str, list[int]] = {}
    for tool in shown:
        _add(sums, clean_label(tool.tool), (tool.tokens, tool.cost_nanos))
    if tail:
        _add(sums, OTHER, (sum(t.tokens for t in tail), sum(t.cost_nanos for t in tail)))
    return {name: {"tokens": v[0], "cost_usd": format_usd(v[1])} for name, v in sums.items()}


def _kinds_json(kinds: list[KindCounts], keep: int | None) -> dict[str, dict[str, int]]:
    shown, tail = (kinds, []) if keep is None else (kinds[:keep], kinds[keep:])
    sums: dict[str, list[int]] = {}
    for kind in shown:
        _add(sums, clean_label(kind.kind), (kind.created, kind.viewed_by_others, kind.used))
    if tail:
        _add(
            sums,
            OTHER,
            (
                sum(k.created for k in tail),
                sum(k.viewed_by_others for k in tail),
                sum(k.used for k in tail),
            ),
        )
    return {
        name: {"created": v[0], "viewed_by_others": v[1], "used": v[2]} for name, v in sums.items()
    }


def _add(sums: dict[str, list[int]], name: str, values: tuple[int, ...]) -> None:
    """Add ``values`` under ``name``, summing when two labels collide after cleaning."""
    current = sums.setdefault(name, [0] * len(values))
    for index, value in enumerate(values):
        current[index] += value


def _nudge_summary(nudge: Mapping[str, Any]) -> dict[str, Any]:
    return {key: nudge[key] for key in ("rule", "level") if key in nudge}


def _scrub(value: Any) -> Any:
    """Replace anything that looks like an email address, in keys and values, recursively."""
    if isinstance(value, str):
        return _EMAIL_RE.sub(_REDACTED, value)
    if isinstance(value, Mapping):
        return {_scrub(str(k)): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value
