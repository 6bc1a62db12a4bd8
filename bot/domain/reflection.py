"""The deterministic reflection: a short, kind, second-person note built only from the facts.

Used when no LLM is configured, and whenever the LLM's text fails or does not pass grounding.
Every number it writes is one of the facts' numbers or a difference of two of them.
"""

from __future__ import annotations

from bot.domain.facts import Facts, KindCounts
from bot.domain.money import format_money
from bot.domain.units import display_count

PLURALS = {
    "dashboard": ("dashboard", "dashboards"),
    "report": ("report", "reports"),
    "doc": ("doc", "docs"),
    "deck": ("deck", "decks"),
    "query": ("query", "queries"),
    "pull_request": ("pull request", "pull requests"),
    "agent": ("agent", "agents"),
    "other": ("artifact", "artifacts"),
}
MAX_WORDS = 60


def noun(kind: str, count: int) -> str:
    singular, plural = PLURALS.get(kind, PLURALS["other"])
    return singular if count == 1 else plural


def _main_kind(facts: Facts) -> KindCounts | None:
    kinds = [k for k in facts.by_kind if k.created]
    if not kinds:
        return None
    return sorted(kinds, key=lambda k: (-k.created, k.kind))[0]


def _artifact_sentence(facts: Facts) -> str | None:
    created = facts.artifacts_created
    if created == 0:
        return None
    viewed = facts.artifacts_viewed_by_others
    kinds = [k for k in facts.by_kind if k.created]
    what = noun(kinds[0].kind, created) if len(kinds) == 1 else noun("other", created)
    sentence = f"{created} {what} created, {viewed} viewed by others"
    if facts.artifacts_used:
        sentence += f", {facts.artifacts_used} used"
    return sentence + "."


def _usage_sentence(facts: Facts) -> str | None:
    tokens = facts.usage.tokens
    if tokens == 0:
        return None
    cost = f" ({format_money(facts.usage.cost_nanos)})" if facts.usage.cost_nanos else ""
    return f"{display_count(tokens)} tokens{cost}."


def _praise(facts: Facts) -> str | None:
    """Praise where the work was read: most of it opened by others."""
    created, viewed = facts.artifacts_created, facts.artifacts_viewed_by_others
    if facts.viewers == 0 or viewed * 2 < created:
        return None
    people = "colleague" if facts.viewers == 1 else "colleagues"
    return f"Your work was opened by {facts.viewers} {people}; that is where your tokens paid off."


def _question(facts: Facts) -> str:
    created = facts.artifacts_created
    viewed = facts.artifacts_viewed_by_others
    main = _main_kind(facts)
    if created >= 5 and viewed * 4 < created and main is not None:
        unopened = created - viewed
        kinds = [k for k in facts.by_kind if k.created]
        what = noun(kinds[0].kind, unopened) if len(kinds) == 1 else noun("other", unopened)
        return f"Which of the {unopened} unopened {what} would you not build again?"
    if created and viewed * 2 >= created:
        return "What made this work worth opening, and how could you do more of it?"
    if created == 0 and facts.usage.tokens:
        return "What did AI help you finish this week that does not show up here?"
    return "What is one thing you would do differently with AI next week?"


def template_reflection(facts: Facts, *, week_label: str) -> str:
    """At most about sixty words, ending with one question. The week is named only when
    nothing happened in it (the digest's header names it otherwise)."""
    if facts.is_empty:
        return f"No AI use was recorded for you in {week_label}. Is there a task where it could have helped?"
    sentences: list[str] = []
    for sentence in (_artifact_sentence(facts), _usage_sentence(facts), _praise(facts)):
        if sentence:
            sentences.append(sentence)
    sentences.append(_question(facts))
    text = " ".join(sentences)
    words = text.split()
    if len(words) > MAX_WORDS:  # Never expected with the sentences above; keep the promise anyway.
        text = " ".join([sentences[0], sentences[-1]])
    return text
