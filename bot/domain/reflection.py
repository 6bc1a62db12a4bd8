"""The deterministic reflection: a short, kind, second-person note built only from the facts.

Used when no LLM is configured, and whenever the LLM's text fails or does not pass grounding.
Every number it writes is one of the facts' numbers or a difference of two of them. When the
organisation marks AI-assisted artifacts, it opens with those numbers.
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


# AI-assisted artifacts (DESIGN §3.7): the numbers a digest leads with when anything is marked.

NO_AI_MARKS = (
    "No source marks AI-assisted artifacts yet, so these figures count every artifact. "
    "Admins can add rules that mark them in the App Home."
)
PULL_REQUEST = "pull_request"


def ai_kind_phrase(counts: KindCounts) -> str:
    """One kind's AI-assisted numbers (``KindCounts.ai``): "6 AI-assisted pull requests opened,
    5 reviewed by colleagues, 4 merged"; "12 AI-assisted dashboards created, 2 opened by anyone
    else" (", 1 used" when any was)."""
    what = f"AI-assisted {noun(counts.kind, counts.created)}"
    if counts.kind == PULL_REQUEST:
        return (
            f"{counts.created} {what} opened, {counts.viewed_by_others} reviewed by colleagues, "
            f"{counts.used} merged"
        )
    phrase = f"{counts.created} {what} created, {counts.viewed_by_others} opened by anyone else"
    return phrase + (f", {counts.used} used" if counts.used else "")


def ranked_ai_kinds(kinds: tuple[KindCounts, ...] | list[KindCounts]) -> list[KindCounts]:
    """Kinds with AI-assisted artifacts, most created first."""
    return sorted((k for k in kinds if k.created), key=lambda k: (-k.created, k.kind))


def ai_summary(
    kinds: tuple[KindCounts, ...] | list[KindCounts], *, limit: int | None = None
) -> str:
    """The AI-assisted numbers of several kinds in one line, kinds joined by "; " ("" for
    none); ``limit`` keeps the kinds with the most."""
    return "; ".join(ai_kind_phrase(k) for k in ranked_ai_kinds(kinds)[:limit])


def _ai_sentence(facts: Facts) -> str | None:
    """The opening sentence when the organisation marks AI-assisted artifacts: how much of the
    week's work was AI-assisted, and how much of that someone else opened (the digest lists
    the numbers per kind beside it)."""
    created = facts.artifacts_created
    if not facts.ai_marks_in_org or created == 0:
        return None
    ai = facts.ai_created
    if ai == 0:
        return "None of your artifacts this week was AI-assisted."
    kinds = [k for k in facts.by_kind if k.created]
    kind = kinds[0].kind if len(kinds) == 1 else "other"
    share = f"{ai} of the {created}"
    if ai == created:
        share = "Both" if ai == 2 else f"All {ai}"
    opened = f"{facts.ai_viewed_by_others} of those were opened by someone else"
    if kind == PULL_REQUEST:
        opened = (
            f"{facts.ai_viewed_by_others} of those were reviewed by colleagues, "
            f"{facts.ai_used} merged"
        )
    if created == 1:
        return f"The 1 {noun(kind, 1)} you made was AI-assisted; {opened}."
    return f"{share} {noun(kind, created)} you made were AI-assisted; {opened}."


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


def _ai_question(facts: Facts) -> str | None:
    """When most AI-assisted work went unopened: which of it would they not make again?"""
    created, viewed = facts.ai_created, facts.ai_viewed_by_others
    kinds = ranked_ai_kinds(facts.ai_by_kind)
    if not facts.ai_marks_in_org or created < 5 or viewed * 4 >= created or not kinds:
        return None
    unopened = created - viewed
    kind = kinds[0].kind if len(kinds) == 1 else "other"
    state = "unreviewed" if kind == PULL_REQUEST else "unopened"
    return f"Which of the {unopened} {state} AI-assisted {noun(kind, unopened)} would you not make again?"


def _question(facts: Facts) -> str:
    ai_question = _ai_question(facts)
    if ai_question is not None:
        return ai_question
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
    lead = _ai_sentence(facts)  # when it says how much was AI-assisted, it says the total too
    artifacts = _artifact_sentence(facts) if lead is None or not facts.ai_created else None
    for sentence in (lead, artifacts, _usage_sentence(facts), _praise(facts)):
        if sentence:
            sentences.append(sentence)
    sentences.append(_question(facts))
    text = " ".join(sentences)
    words = text.split()
    if len(words) > MAX_WORDS:  # Never expected with the sentences above; keep the promise anyway.
        text = " ".join([sentences[0], sentences[-1]])
    return text
