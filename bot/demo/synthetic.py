"""A synthetic organisation for the demo: people, teams, and five weeks of realistic AI use.

Pure and deterministic: the same seed and the same last week give the same organisation and the
same events. Events are emitted in the generic schema (DESIGN §3.4) as plain dicts, so the demo
ingests them through the real pipeline.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from bot.domain.weeks import Week

DOMAIN = "example.com"
WEEKS = 5

FIRST_NAMES = [
    "Ana",
    "Ben",
    "Chloé",
    "Dev",
    "Emeka",
    "Fatima",
    "Gus",
    "Hana",
    "Ivan",
    "Jun",
    "Kofi",
    "Lena",
    "Mateo",
    "Nia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Vik",
    "Wen",
    "Ximena",
    "Yara",
    "Zoe",
    "Aiko",
    "Bruno",
    "Carla",
    "Dmitri",
    "Elif",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
]
LAST_NAMES = [
    "Lopez",
    "Okafor",
    "Martin",
    "Patel",
    "Nwosu",
    "Haddad",
    "Berg",
    "Sato",
    "Petrov",
    "Kim",
    "Mensah",
    "Fischer",
    "Rossi",
    "Adeyemi",
    "Farouk",
    "Rao",
    "Byrne",
    "Silva",
    "Lund",
    "Aziz",
]


@dataclass(frozen=True)
class Persona:
    """How a kind of person uses AI in a week."""

    name: str
    kind: str | None  # the artifact kind they make, if any
    artifacts: tuple[int, int]  # created per week (min, max)
    view_chance: float  # chance an artifact is opened by someone else
    viewers: tuple[int, int]  # colleagues per opened artifact
    tokens: tuple[int, int]  # tokens per week (min, max)
    use_chance: float = 0.0  # chance an artifact is used (merged, shipped…)
    tools: tuple[str, ...] = ("chatgpt",)


PERSONAS = {
    "prolific": Persona(
        "prolific",
        "dashboard",
        (30, 45),
        0.06,
        (1, 2),
        (1_200_000, 2_600_000),
        tools=("chatgpt", "claude"),
    ),
    "deck_builder": Persona(
        "deck_builder", "deck", (8, 14), 0.15, (1, 3), (500_000, 900_000), tools=("chatgpt",)
    ),
    "focused": Persona(
        "focused", "report", (2, 3), 0.95, (5, 15), (150_000, 400_000), tools=("claude",)
    ),
    "engineer": Persona(
        "engineer",
        "pull_request",
        (3, 7),
        0.9,
        (1, 3),
        (400_000, 1_500_000),
        use_chance=0.75,
        tools=("claude-code", "copilot"),
    ),
    "light": Persona("light", "doc", (0, 1), 0.7, (1, 4), (10_000, 60_000), tools=("chatgpt",)),
    "non_user": Persona("non_user", None, (0, 0), 0.0, (0, 0), (0, 0), tools=()),
}

# Teams and the personas of their members, in order.
TEAMS: dict[str, list[str]] = {
    "Data": [
        "focused",
        "prolific",
        "prolific",
        "focused",
        "light",
        "prolific",
        "deck_builder",
        "non_user",
    ],
    "Platform": [
        "engineer",
        "engineer",
        "engineer",
        "light",
        "engineer",
        "focused",
        "non_user",
        "engineer",
    ],
    "Product": [
        "deck_builder",
        "focused",
        "deck_builder",
        "light",
        "focused",
        "light",
        "non_user",
        "prolific",
    ],
    "Sales": ["light", "deck_builder", "light", "non_user", "light", "focused", "light", "light"],
}

# Model and a blended price in nano-dollars per token.
MODEL_OF_TOOL = {
    "chatgpt": ("gpt-4.1", 4_000),
    "claude": ("claude-sonnet-4", 6_000),
    "claude-code": ("claude-sonnet-4", 6_000),
    "copilot": ("gpt-4.1-mini", 800),
}


@dataclass(frozen=True)
class DemoPerson:
    email: str
    name: str
    team: str
    persona: str
    is_lead: bool


@dataclass(frozen=True)
class DemoOrg:
    people: list[DemoPerson]
    events: list[dict[str, Any]]
    weeks: list[Week]

    def directory_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["email", "name", "team", "lead_of"])
        for person in self.people:
            writer.writerow(
                [person.email, person.name, person.team, person.team if person.is_lead else ""]
            )
        return out.getvalue()


def make_people(rng: random.Random) -> list[DemoPerson]:
    names = rng.sample(
        [f"{f} {last}" for f in FIRST_NAMES for last in LAST_NAMES], sum(map(len, TEAMS.values()))
    )
    people = []
    index = 0
    for team, personas in TEAMS.items():
        for position, persona in enumerate(personas):
            name = names[index]
            index += 1
            email = f"{name.split()[0].lower()}.{name.split()[1].lower()}@{DOMAIN}"
            email = email.replace("é", "e")
            people.append(DemoPerson(email, name, team, persona, is_lead=position == 0))
    return people


def _instant(rng: random.Random, week: Week, day: int) -> datetime:
    """A working-hours moment on ``day`` (0 = Monday) of ``week``, in UTC."""
    moment = datetime.combine(week.monday + timedelta(days=day), time(8), tzinfo=UTC)
    return moment + timedelta(minutes=rng.randrange(0, 9 * 60), seconds=rng.randrange(60))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(seed: int, last_week: Week) -> DemoOrg:
    """The organisation and its events for the five weeks ending with ``last_week``."""
    rng = random.Random(seed)
    people = make_people(rng)
    weeks = [last_week.shift(offset) for offset in range(-(WEEKS - 1), 1)]
    colleagues = [p.email for p in people]
    events: list[dict[str, Any]] = []
    counter = 0

    def next_id(prefix: str) -> str:
        nonlocal counter
        counter += 1
        return f"demo_{prefix}_{seed}_{counter:06d}"

    for person in people:
        persona = PERSONAS[person.persona]
        for week in weeks:
            # Usage: a handful of records per working day.
            week_tokens = rng.randint(*persona.tokens) if persona.tokens[1] else 0
            days = rng.sample(range(5), k=rng.randint(2, 5)) if week_tokens else []
            for day in days:
                share = week_tokens // len(days)
                tool = rng.choice(persona.tools)
                model, price = MODEL_OF_TOOL[tool]
                input_tokens = share * 4 // 5
                output_tokens = share - input_tokens
                cached = input_tokens // rng.randint(3, 8)
                events.append(
                    {
                        "id": next_id("use"),
                        "type": "ai.usage",
                        "occurred_at": _iso(_instant(rng, week, day)),
                        "actor": {"email": person.email},
                        "tool": tool,
                        "model": model,
                        "usage": {
                            "input_tokens": input_tokens,
                            "cached_tokens": cached,
                            "output_tokens": output_tokens,
                            "cost_usd": _decimal_string(price * share, 9),
                            "requests": rng.randint(5, 40),
                        },
                    }
                )
            # Artifacts, and whether anyone else opens or uses them.
            if persona.kind is None:
                continue
            for made in range(rng.randint(*persona.artifacts)):
                artifact_id = next_id(persona.kind)
                created = _instant(rng, week, rng.randrange(5))
                events.append(
                    _created(next_id("new"), artifact_id, person.email, created, persona, made)
                )
                if rng.random() < 0.3:  # the creator looks at their own work: not a view by others
                    events.append(_view(next_id("view"), artifact_id, person.email, created, rng))
                if rng.random() < persona.view_chance:
                    others = [c for c in colleagues if c != person.email]
                    for viewer in rng.sample(others, k=rng.randint(*persona.viewers)):
                        events.append(_view(next_id("view"), artifact_id, viewer, created, rng))
                if rng.random() < persona.use_chance:
                    events.append(
                        {
                            "id": next_id("used"),
                            "type": "artifact.used",
                            "occurred_at": _iso(created + timedelta(hours=rng.randint(1, 20))),
                            "actor": {"email": person.email},
                            "artifact": {"id": artifact_id},
                        }
                    )
    return DemoOrg(people, events, weeks)


def _created(
    key: str, artifact_id: str, email: str, created: datetime, persona: Persona, made: int
) -> dict[str, Any]:
    """An ``artifact.created`` event. Every fourth artifact of a week is made by hand (nothing
    marks it); the others are AI-assisted: marked by their source (``tool``), or, for pull
    requests, by the "ai-assisted" label a built-in rule reads."""
    kind = persona.kind or "other"
    artifact: dict[str, Any] = {
        "id": artifact_id,
        "kind": kind,
        "title": f"{kind.replace('_', ' ').title()} {artifact_id[-4:]}",
    }
    event: dict[str, Any] = {
        "id": key,
        "type": "artifact.created",
        "occurred_at": _iso(created),
        "actor": {"email": email},
        "artifact": artifact,
    }
    if made % 4 == 3:
        return event
    if kind == "pull_request":
        artifact["tags"] = ["ai-assisted"]
    else:
        event["tool"] = persona.tools[0]
    return event


def _view(
    event_id: str, artifact_id: str, viewer: str, created: datetime, rng: random.Random
) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "artifact.viewed",
        "occurred_at": _iso(created + timedelta(minutes=rng.randint(5, 36 * 60))),
        "actor": {"email": viewer},
        "artifact": {"id": artifact_id},
    }


def _decimal_string(units: int, decimals: int) -> str:
    """``units`` × 10**-decimals as an exact decimal string."""
    sign = "-" if units < 0 else ""
    digits = str(abs(units)).rjust(decimals + 1, "0")
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"
