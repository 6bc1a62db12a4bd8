"""Grounding check: a reflection may only state numbers that come from the person's facts.

Pure. ``check_grounding`` finds every number a text states (digits with commas, decimals,
K/M/B suffixes, dollar amounts, percentages, spelled-out numbers) and accepts it only if it is
one of the facts' numbers, shown as people read them (``1.9M``, ``120K``, ``$23``, ``$0.42``),
or a simple derivation of them:

- a part of a whole (opened of created, a kind of all artifacts, cached of input, a tool or model
  of all tokens or cost) as a share ``a/b`` in whole percent (±1), the rest ``b-a`` (38 unopened
  of 40 created), or a ratio ``b/a`` ("1 in 20");
- this week against the baseline median or last week: the change ``|a-b|``, ``|a-b|/b`` in
  percent (±1) and the ratio ``a/b`` ("1.8x your usual");
- the sum of two sibling numbers (two kinds, two tools) and the tails the prompt folds into
  "other";
- cost and tokens per artifact (created, opened, used; per kind) and per request;
- the dates, year and ISO week number of the week itself, and the ``4 weeks`` of the baseline.

Numbers combine only along these relations, so that a random number rarely passes as some
derivation of two unrelated ones. Rounding follows how the number is written: ``1.9M`` is any
count that rounds to it, ``38`` is 38. The text must also have the reflection's shape (not
empty, not too long, one closing question) and must not name or compare with anyone else.
Anything else fails, with the offending tokens listed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from itertools import combinations
from typing import Any, Literal

from bot.domain.facts import BASELINE_WEEKS, Facts
from bot.domain.prompt import (
    FOLD_POINTS,
    clean_label,
    ranked_kinds,
    ranked_models,
    ranked_tools,
)
from bot.domain.units import NANOS_PER_USD
from bot.domain.weeks import parse_week

MAX_WORDS = 90
MAX_CHARS = 700
PERCENT_TOLERANCE = Decimal(1)
DERIVE_TOP = 8  # tools and kinds that take part in pairwise derivations

MentionKind = Literal["plain", "percent", "money"]
Number = int | float | Decimal | str


@dataclass(frozen=True)
class GroundingResult:
    ok: bool
    unsupported: list[str] = field(default_factory=list)
    reason: str | None = None


@dataclass(frozen=True)
class Mention:
    """A number as a text states it: ``mantissa × scale``, shown with ``places`` decimals."""

    token: str
    mantissa: Decimal
    scale: Decimal = Decimal(1)
    places: int = 0
    kind: MentionKind = "plain"
    below: bool = False  # "<$0.01"

    @property
    def amount(self) -> Decimal:
        return self.mantissa * self.scale


@dataclass(frozen=True)
class AllowedNumbers:
    """What a text about these facts may state: counts, dollar amounts and percentages."""

    counts: frozenset[Decimal]
    money: frozenset[Decimal]
    percents: frozenset[Decimal]
    money_facts: frozenset[Decimal] = frozenset()  # amounts stated as such, without a "$"

    def supports(self, mention: Mention) -> bool:
        if mention.kind == "percent":
            return any(abs(mention.amount - p) <= PERCENT_TOLERANCE for p in self.percents)
        pool = self.money if mention.kind == "money" else self.counts | self.money_facts
        if mention.below:
            return any(0 < value < mention.amount for value in pool)
        if mention.amount == 0:
            return Decimal(0) in pool
        half = Decimal(5).scaleb(-(mention.places + 1))
        return any(abs(value / mention.scale - mention.mantissa) <= half for value in pool)


def check_grounding(
    text: str,
    facts: Facts,
    *,
    extra_numbers: Iterable[Number] = (),
    require_question: bool = True,
) -> GroundingResult:
    """Whether ``text`` states only numbers supported by ``facts`` and has a reflection's shape.

    ``extra_numbers`` are further numbers the caller vouches for (allowed anywhere).
    """
    problem = shape_problem(text, require_question=require_question)
    if problem:
        return GroundingResult(ok=False, reason=problem)
    masked, unsupported = _consume_contexts(text, facts)
    allowed = allowed_numbers(facts, extra_numbers)
    unsupported += [m.token for m in find_numbers(masked) if not allowed.supports(m)]
    if unsupported:
        return GroundingResult(
            ok=False,
            unsupported=unsupported,
            reason=f"{len(unsupported)} number(s) not supported by the facts",
        )
    return GroundingResult(ok=True)


# Shape --------------------------------------------------------------------------------------

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SLACK_MENTION_RE = re.compile(r"<[@!#][^>]*>|(?<![\w])@[A-Za-z][\w.\-]*")
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s", re.MULTILINE)
_COMPARISON_RE = re.compile(
    r"\b(?:leaderboards?|ranked|rankings?|percentiles?"
    r"|top\s+(?:\d+\s+)?(?:users?|spenders?|performers?)"
    r"|(?:more|less|fewer|higher|lower|better|worse)\s+than\s+(?:most|others?|other\s+\w+"
    r"|the\s+(?:average|rest|team)|your\s+(?:colleagues|peers|teammates|team))"
    r"|(?:team|company|org|organi[sz]ation)\s+average"
    r"|average\s+(?:users?|persons?|colleagues?|employees?))\b",
    re.IGNORECASE,
)
_CLOSERS = " \t\r\n\"'”’)»"


def shape_problem(text: str, *, require_question: bool = True) -> str | None:
    """Why ``text`` cannot be a reflection (None if it can): length, other people, the question."""
    stripped = text.strip()
    if not stripped:
        return "empty text"
    if len(stripped) > MAX_CHARS:
        return f"too long: {len(stripped)} characters (at most {MAX_CHARS})"
    words = len(stripped.split())
    if words > MAX_WORDS:
        return f"too long: {words} words (at most {MAX_WORDS})"
    if _EMAIL_RE.search(stripped):
        return "mentions an email address"
    if _SLACK_MENTION_RE.search(stripped):
        return "mentions someone else"
    if _COMPARISON_RE.search(stripped):
        return "compares or ranks against other people"
    if _HEADING_RE.search(stripped):
        return "uses markdown headings"
    if require_question and (
        stripped.count("?") != 1 or not stripped.rstrip(_CLOSERS).endswith("?")
    ):
        return "does not end with exactly one question"
    return None


# Numbers stated in a text ----------------------------------------------------------------------

_SCALES = {
    "k": Decimal(10**3),
    "thousand": Decimal(10**3),
    "m": Decimal(10**6),
    "million": Decimal(10**6),
    "b": Decimal(10**9),
    "bn": Decimal(10**9),
    "billion": Decimal(10**9),
}
_DIGITS_RE = re.compile(
    r"(?P<below><\s?)?(?P<cur>(?:US)?\$\s?)?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?P<suf>\s?(?:thousand|million|billion)\b|(?:[kKmMbB]|bn)\b)?"
    r"(?P<pct>\s?(?:%|percent\b|per\s?cent\b))?"
    r"(?P<usd>\s?(?:dollars?|USD)\b)?"
    r"(?P<times>[x×]\b)?"
    r"(?P<ord>st\b|nd\b|rd\b|th\b)?"
)
_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_MULTIPLIERS = {"hundred": 100, "thousand": 10**3, "million": 10**6, "billion": 10**9, "dozen": 12}
_WORDS_RE = re.compile(
    rf"\b(?:(?P<tens>{'|'.join(_TENS)})(?:[\s-](?P<unit>{'|'.join(_UNITS)}))?"
    rf"|(?P<teen>{'|'.join(_TEENS)})|(?P<small>{'|'.join(_UNITS)})|(?P<article>an?))"
    rf"(?:[\s-](?P<mult>{'|'.join(_MULTIPLIERS)}))?\b"
    r"(?P<pct>\s(?:percent|per\s?cent)\b)?(?P<usd>\s(?:dollars?)\b)?",
    re.IGNORECASE,
)
# "one" is a number only when it counts something ("one report"), not in "one question".
_COUNT_NOUNS = frozenset(
    {
        "dashboard", "report", "doc", "document", "deck", "query", "pull", "pr", "agent",
        "artifact", "colleague", "person", "teammate", "viewer", "token", "request", "tool",
        "dollar",
    }
)  # fmt: skip
_NEXT_WORD_RE = re.compile(r"[\s-]+([A-Za-z]+)")


def find_numbers(text: str) -> list[Mention]:
    """Every number ``text`` states, in order: digits first, then spelled-out numbers."""
    return [*_digit_mentions(text), *_word_mentions(text)]


def _digit_mentions(text: str) -> Iterator[Mention]:
    for match in _DIGITS_RE.finditer(text):
        if _is_identifier(text, match):
            continue
        num = match["num"].replace(",", "")
        mantissa = Decimal(num)
        places = len(num.partition(".")[2])
        suffix = (match["suf"] or "").strip().lower()
        kind: MentionKind = (
            "percent" if match["pct"] else "money" if match["cur"] or match["usd"] else "plain"
        )
        scale = _SCALES.get(suffix, Decimal(1))
        if not suffix and places == 0 and kind != "percent" and mantissa >= 1000:
            mantissa, scale = _round_thousands(num)
        yield Mention(
            token=match.group(0).strip(),
            mantissa=mantissa,
            scale=scale,
            places=places,
            kind=kind,
            below=bool(match["below"]) and kind == "money",
        )


def _is_identifier(text: str, match: re.Match[str]) -> bool:
    """Digits glued to a name (``W47``, ``gpt-4``, ``3D``) are part of a name, not a number."""
    start, end = match.start(), match.end()
    if not match["cur"] and not match["below"] and start > 0:
        previous = text[start - 1]
        if previous.isalnum() or previous in "_.":
            return True
        if previous == "-" and start > 1 and text[start - 2].isalpha():
            return True
    return end < len(text) and (text[end].isalnum() or text[end] == "_")


def _round_thousands(num: str) -> tuple[Decimal, Decimal]:
    """``1,900,000`` may round 1,874,000: its trailing zeros are rounding, not digits."""
    zeros = len(num) - len(num.rstrip("0"))
    scale = Decimal(10) ** zeros
    return Decimal(num) / scale, scale


def _word_mentions(text: str) -> Iterator[Mention]:
    for match in _WORDS_RE.finditer(text):
        value = _word_value(match)
        if value is None:
            continue
        if match["small"] and match["small"].lower() == "one" and not match["mult"]:
            following = _NEXT_WORD_RE.match(text, match.end())
            noun = following.group(1).lower() if following else ""
            if noun.removesuffix("s") not in _COUNT_NOUNS:
                continue
        kind: MentionKind = "percent" if match["pct"] else "money" if match["usd"] else "plain"
        yield Mention(token=match.group(0).strip(), mantissa=Decimal(value), kind=kind)


def _word_value(match: re.Match[str]) -> int | None:
    multiplier = _MULTIPLIERS[match["mult"].lower()] if match["mult"] else 1
    if match["article"]:
        return multiplier if match["mult"] else None
    if match["tens"]:
        base = _TENS[match["tens"].lower()] + (
            _UNITS[match["unit"].lower()] if match["unit"] else 0
        )
    elif match["teen"]:
        base = _TEENS[match["teen"].lower()]
    else:
        base = _UNITS[match["small"].lower()]
    return base * multiplier


# Contexts: dates, the ISO week, the baseline's weeks, "1 in N", names with digits ------------

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_ORD = r"(?:st|nd|rd|th)?"
_DASH = r"\s*(?:–|—|-|to|through|until)\s*"
_DATE_RES = (
    # Nov 16–22, Nov 30–Dec 6, November 16th, 2026
    re.compile(
        rf"\b(?P<m1>{_MONTH})\s+(?P<d1>\d{{1,2}}){_ORD}"
        rf"(?:{_DASH}(?:(?P<m2>{_MONTH})\s+)?(?P<d2>\d{{1,2}}){_ORD})?"
        rf"(?:,?\s+(?P<y>\d{{4}}))?\b",
    ),
    # 16–22 Nov, 30 Nov – 6 Dec 2026
    re.compile(
        rf"\b(?P<d1>\d{{1,2}}){_ORD}(?:\s+(?P<m1>{_MONTH}))?"
        rf"(?:{_DASH}(?P<d2>\d{{1,2}}){_ORD})?\s+(?P<m2>{_MONTH})(?:,?\s+(?P<y>\d{{4}}))?\b",
    ),
    # 2026-11-16
    re.compile(r"\b(?P<y>\d{4})-(?P<mn>\d{2})-(?P<d1>\d{2})\b"),
)
_WEEK_RES = (
    re.compile(r"\b(?P<y>\d{4})-W(?P<w>\d{1,2})\b"),
    re.compile(r"\bW(?P<w>\d{1,2})\b"),
)
# "week 47" is the ISO week only if it is this one; otherwise "week 40 dashboards" is a count.
_WEEK_WORD_RE = re.compile(
    r"\b(?:ISO\s+)?week\s+(?:no\.?\s*|number\s+|#)?(?P<w>\d{1,2})\b", re.IGNORECASE
)
_BASELINE_RE = re.compile(
    rf"\b(?:{BASELINE_WEEKS}|four)(?:\s+|-)(?:(?:previous|prior|past|last|recent)\s+)?weeks?\b",
    re.IGNORECASE,
)
_ONE_IN_RE = re.compile(r"\b(?:1|one)\s+in\s+(?=\S)", re.IGNORECASE)


def _consume_contexts(text: str, facts: Facts) -> tuple[str, list[str]]:
    """Check and blank out numbers that are names, dates or week references."""
    unsupported: list[str] = []
    for label in _labels_with_digits(facts):
        text = re.sub(re.escape(label), _blank, text, flags=re.IGNORECASE)
    days = _week_days(facts.week)
    for pattern in _DATE_RES:
        text = pattern.sub(lambda m: _check_date(m, days, unsupported), text)
    for pattern in _WEEK_RES:
        text = pattern.sub(lambda m: _check_week(m, days, unsupported), text)
    iso_week = days[0].isocalendar().week if days else None
    text = _WEEK_WORD_RE.sub(lambda m: _blank(m) if int(m["w"]) == iso_week else m[0], text)
    text = _BASELINE_RE.sub(_blank, text)
    text = _ONE_IN_RE.sub(_blank, text)
    return text, unsupported


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group(0))


def _labels_with_digits(facts: Facts) -> list[str]:
    names = {t.tool for t in (*facts.by_tool, *facts.by_model)} | {k.kind for k in facts.by_kind}
    labels = {variant for name in names for variant in (name, clean_label(name))}
    return sorted((x for x in labels if any(c.isdigit() for c in x)), key=len, reverse=True)


def _week_days(week: str) -> list[date]:
    try:
        monday = parse_week(week).monday
    except ValueError:
        return []
    return [monday + timedelta(days=offset) for offset in range(7)]


def _check_date(match: re.Match[str], days: list[date], unsupported: list[str]) -> str:
    groups = match.groupdict()
    months = {d.month for d in days}
    if groups.get("mn"):
        named = {int(groups["mn"])}
    else:
        named = {_MONTHS[m[:3].lower()] for m in (groups["m1"], groups["m2"]) if m}
    day_numbers = {int(d) for d in (groups["d1"], groups.get("d2")) if d}
    ok = (
        named <= months
        and day_numbers <= {d.day for d in days}
        and (not groups["y"] or int(groups["y"]) in {d.year for d in days})
    )
    if not ok:
        unsupported.append(match.group(0).strip())
    return _blank(match)


def _check_week(match: re.Match[str], days: list[date], unsupported: list[str]) -> str:
    groups = match.groupdict()
    iso = days[0].isocalendar() if days else None
    ok = (
        iso is not None
        and int(groups["w"]) == iso.week
        and (not groups.get("y") or int(groups["y"]) == iso.year)
    )
    if not ok:
        unsupported.append(match.group(0).strip())
    return _blank(match)


# Numbers the facts support -------------------------------------------------------------------


@dataclass(frozen=True)
class _Amounts:
    """Numbers of one unit: money (dollars) or not (counts of tokens, artifacts, requests)."""

    values: list[Decimal]
    money: bool = False


@dataclass
class _Relations:
    """Which facts may be combined, and how. Only related numbers combine, so that a random
    number is unlikely to pass as some derivation of two unrelated ones."""

    parts: list[tuple[Decimal, Decimal, bool]] = field(default_factory=list)  # part, whole, $
    changes: list[tuple[Decimal, Decimal]] = field(default_factory=list)  # now, before
    siblings: list[_Amounts] = field(default_factory=list)  # summed pairwise
    per_unit: list[tuple[Decimal, Decimal, bool]] = field(default_factory=list)  # amount, unit, $


def allowed_numbers(facts: Facts, extra_numbers: Iterable[Number] = ()) -> AllowedNumbers:
    """The facts' own numbers and their simple derivations."""
    counts: set[Decimal] = set()
    money: set[Decimal] = set()
    percents: set[Decimal] = set()
    data = facts.to_json()
    data.pop("user", None)
    _collect(data, "", counts, money, percents)
    counts |= {Decimal(day.year) for day in _week_days(facts.week)}
    for number in extra_numbers:
        value = _to_decimal(number)
        if value is not None:
            counts.add(value)
            money.add(value)
    money_facts = frozenset(money)
    _derive(_relations(facts), counts, money, percents)
    return AllowedNumbers(frozenset(counts), frozenset(money), frozenset(percents), money_facts)


def _relations(facts: Facts) -> _Relations:
    rel = _Relations()
    _artifact_relations(facts, rel)
    _usage_relations(facts, rel)
    return rel


def _artifact_relations(facts: Facts, rel: _Relations) -> None:
    """Opened and used of created, per kind and in all; kinds summed; cost per artifact."""
    kinds = ranked_kinds(facts)[:DERIVE_TOP]
    created = Decimal(facts.artifacts_created)
    viewed = Decimal(facts.artifacts_viewed_by_others)
    used = Decimal(facts.artifacts_used)
    rel.parts += [(viewed, created, False), (used, created, False), (used, viewed, False)]
    for kind in kinds:
        k_created, k_viewed, k_used = map(Decimal, (kind.created, kind.viewed_by_others, kind.used))
        rel.parts += [(k_viewed, k_created, False), (k_used, k_created, False)]
        rel.parts += [(k_created, created, False), (k_viewed, viewed, False), (k_used, used, False)]
    for column in ("created", "viewed_by_others", "used"):
        rel.siblings.append(_Amounts([Decimal(getattr(k, column)) for k in kinds]))
    # The AI-assisted ones: of their own totals, and of all the artifacts.
    ai_created = Decimal(facts.ai_created)
    ai_viewed, ai_used = Decimal(facts.ai_viewed_by_others), Decimal(facts.ai_used)
    rel.parts += [(ai_viewed, ai_created, False), (ai_used, ai_created, False)]
    rel.parts += [(ai_used, ai_viewed, False), (ai_created, created, False)]
    rel.parts += [(ai_viewed, viewed, False), (ai_used, used, False)]
    for kind in facts.ai_by_kind[:DERIVE_TOP]:
        k_created, k_viewed, k_used = map(Decimal, (kind.created, kind.viewed_by_others, kind.used))
        rel.parts += [(k_viewed, k_created, False), (k_used, k_created, False)]
    units = [created, viewed, used, Decimal(facts.usage.requests)]
    units += [Decimal(n) for k in kinds for n in (k.created, k.viewed_by_others, k.used)]
    cost, total = _dollars(facts.usage.cost_nanos), Decimal(facts.usage.tokens)
    for unit in units:
        rel.per_unit += [(cost, unit, True), (total, unit, False)]


def _usage_relations(facts: Facts, rel: _Relations) -> None:
    """Token kinds of the total; tools and models (and their tails) of tokens and cost; the
    week against the baseline."""
    usage = facts.usage
    total = Decimal(usage.tokens)
    cost = _dollars(usage.cost_nanos)
    rel.parts += [
        (Decimal(usage.cached_tokens), Decimal(usage.input_tokens), False),
        (Decimal(usage.input_tokens), total, False),
        (Decimal(usage.output_tokens), total, False),
    ]
    for usages in (ranked_tools(facts), ranked_models(facts)):
        tokens = [Decimal(t.tokens) for t in usages[:DERIVE_TOP]]
        tokens += [Decimal(n) for n in _tail_sums([t.tokens for t in usages])]
        costs = [_dollars(t.cost_nanos) for t in usages[:DERIVE_TOP]]
        costs += [_dollars(n) for n in _tail_sums([t.cost_nanos for t in usages])]
        rel.parts += [(part, total, False) for part in tokens]
        rel.parts += [(part, cost, True) for part in costs]
        rel.siblings += [_Amounts(tokens), _Amounts(costs, money=True)]
    rel.changes.append((total, Decimal(facts.tokens_median)))
    if facts.baseline_tokens:  # oldest first: the last is last week
        rel.changes.append((total, Decimal(facts.baseline_tokens[-1])))


def _derive(
    rel: _Relations, counts: set[Decimal], money: set[Decimal], percents: set[Decimal]
) -> None:
    """Shares, differences, sums, ratios, changes and per-unit figures of related facts."""
    for part, whole, is_money in rel.parts:
        target = money if is_money else counts
        target.update((part, whole))
        if whole >= part:
            target.add(whole - part)  # 38 unopened of 40
        if whole > 0:
            percents.add(part * 100 / whole)
            percents.add((whole - part) * 100 / whole)
        if part > 0:
            counts.add(whole / part)  # "1 in 20"
    for now, before in rel.changes:
        counts.add(abs(now - before))
        if before > 0:
            percents.add(abs(now - before) * 100 / before)
            counts.add(now / before)  # "2x your usual"
        if now > 0:
            counts.add(before / now)
    for group in rel.siblings:
        target = money if group.money else counts
        target.update(group.values)
        target.update(a + b for a, b in combinations(group.values, 2))
    for amount, unit, is_money in rel.per_unit:
        if unit > 0:
            (money if is_money else counts).add(amount / unit)


def _dollars(nanos: int) -> Decimal:
    return Decimal(nanos) / NANOS_PER_USD


def _tail_sums(values: list[int]) -> list[int]:
    """What the prompt may fold into "other": the sum of the tail after each cut point."""
    return [sum(values[cut:]) for cut in FOLD_POINTS if 0 < cut < len(values)]


def _collect(
    value: Any, key: str, counts: set[Decimal], money: set[Decimal], percents: set[Decimal]
) -> None:
    """Every number anywhere in the facts' JSON (money by key name, text in nudges parsed)."""
    if isinstance(value, Mapping):
        for child_key, child in value.items():
            _collect(child, str(child_key), counts, money, percents)
    elif isinstance(value, list | tuple):
        for child in value:
            _collect(child, key, counts, money, percents)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float | Decimal):
        number = _to_decimal(value)
        if number is not None:
            _add_fact_number(number, key, counts, money, percents)
    elif isinstance(value, str):
        number = _to_decimal(value) if _is_money_key(key) else None
        if number is not None:
            money.add(number)
            return
        for mention in find_numbers(value):
            target = {"plain": counts, "money": money, "percent": percents}[mention.kind]
            target.add(mention.amount)


def _add_fact_number(
    number: Decimal, key: str, counts: set[Decimal], money: set[Decimal], percents: set[Decimal]
) -> None:
    if _is_money_key(key):
        money.add(number)
        return
    counts.add(number)
    if _is_percent_key(key):
        percents.add(number)
    if 0 < number < 1:
        percents.add(number * 100)


def _is_money_key(key: str) -> bool:
    lowered = key.lower()
    return "usd" in lowered or "cost" in lowered or "dollar" in lowered


def _is_percent_key(key: str) -> bool:
    lowered = key.lower()
    return any(
        word in lowered for word in ("pct", "percent", "share", "rate", "ratio", "threshold")
    )


def _to_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
