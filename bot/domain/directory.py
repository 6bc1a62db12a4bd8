"""The directory CSV (DESIGN §3.3): people, teams, leads and vendor identities. Pure parsing."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from bot.domain.text import (
    IDENTITY_LENGTH,
    LABEL_LENGTH,
    SLACK_USER_ID_LENGTH,
    TEAM_NAME_LENGTH,
    text_problem,
)

# CSV column → identity kind used by adapters (see bot/ingest/adapters).
IDENTITY_COLUMNS: dict[str, str] = {
    "openai_user_id": "openai",
    "anthropic_account_id": "anthropic",
    "github_login": "github",
    "slack_user_id": "slack",
    "datadog_handle": "datadog",
}
# Kinds whose values compare case-insensitively.
CASE_INSENSITIVE_KINDS = {"github", "datadog", "email"}
KNOWN_COLUMNS = {"email", "name", "team", "lead_of", *IDENTITY_COLUMNS}


@dataclass(frozen=True)
class DirectoryRow:
    line: int
    email: str
    name: str | None = None
    teams: tuple[str, ...] = ()
    lead_of: tuple[str, ...] = ()
    identities: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DirectoryProblem:
    line: int
    error: str


@dataclass(frozen=True)
class ParsedDirectory:
    rows: list[DirectoryRow]
    problems: list[DirectoryProblem]
    ignored_columns: list[str]


def normalize_identity(kind: str, value: str) -> str:
    value = value.strip()
    return value.lower() if kind in CASE_INSENSITIVE_KINDS else value


def _split(cell: str | None) -> tuple[str, ...]:
    if not cell:
        return ()
    seen: dict[str, None] = {}
    for part in cell.split(";"):
        if part.strip():
            seen.setdefault(part.strip(), None)
    return tuple(seen)


def _column_limits() -> dict[str, int]:
    limits = {"email": IDENTITY_LENGTH, "name": LABEL_LENGTH}
    limits.update({column: IDENTITY_LENGTH for column in IDENTITY_COLUMNS})
    limits["slack_user_id"] = SLACK_USER_ID_LENGTH
    return limits


_COLUMN_LIMITS = _column_limits()


def _row_problem(record: dict[str, str | None]) -> str | None:
    """The first cell of a row that cannot be stored (``bot.domain.text``), or ``None``."""
    for column, max_length in _COLUMN_LIMITS.items():
        value = record.get(column)
        if not isinstance(value, str):
            continue
        problem = text_problem(value.strip(), max_length)
        if problem is not None:
            return f"{column} {problem}"
    for column in ("team", "lead_of"):
        for name in _split(record.get(column)):
            problem = text_problem(name, TEAM_NAME_LENGTH)
            if problem is not None:
                return f"{column} {problem}"
    return None


def parse_directory(text: str) -> ParsedDirectory:
    """Parse the CSV; a bad row is reported with its line number and the rest are kept."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    headers = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "email" not in headers:
        raise ValueError(
            "the CSV needs an 'email' column (columns: " + ", ".join(sorted(KNOWN_COLUMNS)) + ")"
        )
    reader.fieldnames = headers
    rows: list[DirectoryRow] = []
    problems: list[DirectoryProblem] = []
    seen_emails: set[str] = set()
    for record in reader:
        line = reader.line_num
        email = (record.get("email") or "").strip().lower()
        if not email:
            problems.append(DirectoryProblem(line, "email is empty"))
            continue
        if "@" not in email[1:-1] or " " in email:
            problems.append(DirectoryProblem(line, f"{email!r} is not an email address"))
            continue
        if email in seen_emails:
            problems.append(
                DirectoryProblem(line, f"{email} appears more than once; the first row was used")
            )
            continue
        problem = _row_problem(record)
        if problem is not None:
            problems.append(DirectoryProblem(line, problem))
            continue
        seen_emails.add(email)
        identities = {
            kind: normalize_identity(kind, record[column])
            for column, kind in IDENTITY_COLUMNS.items()
            if (record.get(column) or "").strip()
        }
        rows.append(
            DirectoryRow(
                line=line,
                email=email,
                name=(record.get("name") or "").strip() or None,
                teams=_split(record.get("team")),
                lead_of=_split(record.get("lead_of")),
                identities=identities,
            )
        )
    ignored = [h for h in headers if h and h not in KNOWN_COLUMNS]
    return ParsedDirectory(rows, problems, ignored)
