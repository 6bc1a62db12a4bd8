"""Structure: the pure core imports no I/O library (STYLE §15), and packages import each other only
along the allowed-imports table below (DESIGN §2: domain ← store ← ingest/digest ← slack/http ←
wiring/cli)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

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
    ROOT / "bot" / "slack" / "chart.py",
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
        for folder in ("bot", "jobs", "tests", "bench", "fakes")
        for path in (ROOT / folder).rglob("*.py")
        if outside in path.read_text() or sibling in path.read_text()
    ]
    assert readers == []


# Which first-party package may import which. A module belongs to the longest unit that prefixes
# its dotted name; every unit may import itself. ``bot`` (the package root: ``__version__``) and
# ``bot.errors`` may be imported by every unit except ``bot.domain``, which imports only itself.
APP_ROOT = {"bot", "bot.errors"}
CONFIG = {"bot.settings", "bot.context"}
CORE = {"bot.domain", "bot.store"}
BOT_UNITS = {
    "bot.domain",
    "bot.store",
    "bot.ingest",
    "bot.digest",
    "bot.teams",
    "bot.slack",
    "bot.slack.ids",
    "bot.slack.blocks",
    "bot.slack.listeners",
    "bot.http",
    "bot.outbound",
    "bot.observability",
    "bot.connectors",
    "bot.demo",
    "bot.wiring",
    "bot.cli",
    "bot.__main__",
    *APP_ROOT,
    *CONFIG,
}
ALLOWED: dict[str, set[str]] = {
    "bot.domain": set(),
    "bot.errors": set(),
    "bot": set(),
    "bot.settings": {*APP_ROOT, "bot.domain"},  # pure checks of values it reads (secrets)
    "bot.context": {*APP_ROOT, "bot.settings"},
    "bot.store": {*APP_ROOT, "bot.domain"},
    # Metrics, log set-up and request ids: counted where things happen, so low in the table.
    "bot.observability": {*APP_ROOT, *CONFIG, *CORE},
    "bot.outbound": {*APP_ROOT, "bot.settings", "bot.observability"},
    "bot.ingest": {*APP_ROOT, *CORE, "bot.observability"},
    "bot.teams": {*APP_ROOT, *CORE},
    "bot.digest": {*APP_ROOT, *CONFIG, *CORE, "bot.outbound", "bot.observability"},
    "bot.connectors": {
        *APP_ROOT,
        *CONFIG,
        *CORE,
        "bot.ingest",
        "bot.outbound",
        "bot.observability",
    },
    "bot.slack.ids": set(),
    "bot.slack.blocks": {*APP_ROOT, "bot.domain", "bot.slack.ids"},
    "bot.slack": {
        *APP_ROOT,
        *CONFIG,
        *CORE,
        "bot.digest",
        "bot.teams",
        "bot.outbound",
        "bot.observability",
        "bot.connectors",  # the admin App Home shows the connectors' state
        "bot.slack.ids",
        "bot.slack.blocks",
        "bot.slack.listeners",  # bot.slack.app registers them
    },
    # Listeners: like bot.slack, but never one another (test_listeners_do_not_import_each_other).
    "bot.slack.listeners": {
        *APP_ROOT,
        *CONFIG,
        *CORE,
        "bot.digest",
        "bot.teams",
        "bot.outbound",
        "bot.slack",
        "bot.slack.ids",
        "bot.slack.blocks",
    },
    "bot.http": {*APP_ROOT, *CONFIG, *CORE, "bot.ingest", "bot.slack", "bot.observability"},
    # The demo composes a whole run (ingest, digest rendered for Slack, team report) like the CLI.
    "bot.demo": {*APP_ROOT, *CONFIG, *CORE, "bot.ingest", "bot.digest", "bot.teams", "bot.slack"},
    # The scheduler and its jobs call the app's services, never its entry points.
    "jobs": {
        *APP_ROOT,
        *CONFIG,
        *CORE,
        "bot.ingest",
        "bot.digest",
        "bot.teams",
        "bot.slack",
        "bot.outbound",
        "bot.observability",
        "bot.connectors",
    },
    # The composition root and the CLI build everything, the scheduler included.
    "bot.wiring": BOT_UNITS - {"bot.cli", "bot.__main__"} | {"jobs"},
    "bot.cli": BOT_UNITS - {"bot.__main__"} | {"jobs"},
    "bot.__main__": {"bot.cli"},
    # Stand-ins for systems we do not own, and the reference facts model: shared by tests and bench.
    "fakes": {*APP_ROOT, *CORE, "bot.digest", "bot.slack.ids"},
    "bench": BOT_UNITS | {"jobs", "fakes"},
    "tests": BOT_UNITS | {"jobs", "fakes", "bench"},
}
UNITS = sorted(ALLOWED, key=len, reverse=True)  # longest first: bot.slack.blocks before bot.slack


def unit_of(module: str) -> str | None:
    """The table's unit of a dotted module name; None for the standard library and third parties."""
    return next((u for u in UNITS if module == u or module.startswith(u + ".")), None)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, *, is_package: bool) -> list[tuple[int, str]]:
    """``(line, imported module)`` for every import in ``source``, relative ones resolved; for
    ``from X import name``, ``X.name`` (it may be a module)."""
    found: list[tuple[int, str]] = []
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
    return found


def violations(path: Path, source: str) -> list[str]:
    """``file:line imports module (unit may not import unit)`` for each import off the table."""
    module = module_name(path)
    unit = unit_of(module)
    assert unit is not None, f"{path} belongs to no unit of the table"
    relative = str(path.relative_to(ROOT))
    problems = []
    for line, imported in imports_of(source, module, is_package=path.name == "__init__.py"):
        target = unit_of(imported)
        if target is None or target == unit or target in ALLOWED[unit]:
            continue
        problems.append(f"{relative}:{line} imports {imported} ({unit} may not import {target})")
    return problems


def project_files() -> list[Path]:
    return [
        path
        for folder in ("bot", "jobs", "bench", "tests", "fakes")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "fixtures" not in path.relative_to(ROOT).parts
    ]


def test_packages_import_only_what_the_table_allows() -> None:
    files = project_files()
    assert len(files) > 150
    problems = [problem for path in files for problem in violations(path, path.read_text())]
    assert problems == [], "imports against the table:\n" + "\n".join(problems)


def test_listeners_do_not_import_each_other() -> None:
    folder = ROOT / "bot" / "slack" / "listeners"
    problems = [
        f"{path.relative_to(ROOT)}:{line} imports {imported}"
        for path in sorted(folder.glob("*.py"))
        if path.name != "__init__.py"  # the package registers every listener module
        for line, imported in imports_of(path.read_text(), module_name(path), is_package=False)
        if imported.startswith("bot.slack.listeners")
    ]
    assert problems == []


@pytest.mark.parametrize(
    ("file", "source", "message"),
    [
        (
            "bot/domain/facts.py",
            "from bot.slack.blocks.limits import clip",
            "bot/domain/facts.py:1 imports bot.slack.blocks.limits.clip"
            " (bot.domain may not import bot.slack.blocks)",
        ),
        (
            "bot/domain/weeks.py",
            "from bot.errors import AiRoiError",
            "bot/domain/weeks.py:1 imports bot.errors.AiRoiError"
            " (bot.domain may not import bot.errors)",
        ),
        (
            "bot/slack/listeners/teams_admin.py",
            "\nfrom jobs.slack_sync import run_slack_sync_safely",
            "bot/slack/listeners/teams_admin.py:2 imports jobs.slack_sync.run_slack_sync_safely"
            " (bot.slack.listeners may not import jobs)",
        ),
        (
            "bot/digest/run.py",
            "def f():\n    from bot.slack.dm import slack_deliverer",
            "bot/digest/run.py:2 imports bot.slack.dm.slack_deliverer"
            " (bot.digest may not import bot.slack)",
        ),
        (
            "bot/store/people.py",
            "import bot.slack.people",
            "bot/store/people.py:1 imports bot.slack.people (bot.store may not import bot.slack)",
        ),
        (
            "bench/digest.py",
            "from tests.support.slack_app import serve",
            "bench/digest.py:1 imports tests.support.slack_app.serve (bench may not import tests)",
        ),
        (
            "bot/slack/dm.py",
            "from bot.wiring import build_app",
            "bot/slack/dm.py:1 imports bot.wiring.build_app (bot.slack may not import bot.wiring)",
        ),
        (
            "bot/ingest/pipeline.py",
            "from ..http import webhooks",
            "bot/ingest/pipeline.py:1 imports bot.http.webhooks"
            " (bot.ingest may not import bot.http)",
        ),
    ],
)
def test_the_table_rejects_backward_imports(file: str, source: str, message: str) -> None:
    """Each backward import the review found (and a few more) is named if it comes back."""
    assert violations(ROOT / file, source) == [message]


def test_allowed_imports_pass() -> None:
    assert violations(ROOT / "bot/slack/dm.py", "from bot.digest.deliverers import Recipient") == []
    assert violations(ROOT / "bot/store/people.py", "import json\nfrom sqlmodel import col") == []
