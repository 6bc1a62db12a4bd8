"""The pure core imports no I/O library (STYLE §15)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PURE_PACKAGES = [
    ROOT / "bot" / "domain",
    ROOT / "bot" / "ingest" / "adapters",
    ROOT / "bot" / "slack" / "blocks",
]
PURE_MODULES = [
    ROOT / "bot" / "ingest" / "decoding.py",
    ROOT / "bot" / "ingest" / "signatures.py",
    ROOT / "bot" / "connectors" / "plan.py",
    ROOT / "bot" / "connectors" / "costs.py",
    ROOT / "bot" / "connectors" / "prices.py",
]
FORBIDDEN = {
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "psycopg",
    "sqlite3",
    "httpx",
    "requests",
    "urllib",
    "socket",
    "http",
    "openai",
    "slack_sdk",
    "slack_bolt",
    "fastapi",
    "starlette",
    "uvicorn",
    "apscheduler",
    "os",
    "subprocess",
    "logging",
    "bot.store",
    "bot.http",
    "bot.settings",
    "bot.wiring",
    "time",
}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_pure_modules_import_no_io() -> None:
    files = [*PURE_MODULES, *(p for package in PURE_PACKAGES for p in package.rglob("*.py"))]
    assert len(files) > 10
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in imported_modules(path)
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)
        )
        for path in files
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_nothing_but_settings_reads_the_environment() -> None:
    readers = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "bot").rglob("*.py")
        if path.name != "settings.py"
        and ("os.environ" in path.read_text() or "getenv" in path.read_text())
    ]
    assert readers == []


def test_nothing_reads_outside_the_repository() -> None:
    """A clone alone passes its tests: reference data lives in tests/fixtures, with its licences."""
    outside = ".." + "/shared"
    sibling = '/ "' + 'shared"'
    readers = [
        str(path.relative_to(ROOT))
        for folder in ("bot", "jobs", "tests", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if outside in path.read_text() or sibling in path.read_text()
    ]
    assert readers == []
