"""Packaging that cannot be built here (no Docker daemon) is checked for what can be checked:
the compose file validates against the Compose Specification and has the services, replicas,
healthchecks and settings the README names; the Dockerfile's stages, user, healthcheck and
command match the README; and the image's command, run outside a container, answers its own
HEALTHCHECK. Also: the lock file, the licence, ``--version``."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml
from packaging.requirements import Requirement

from bot import __version__
from bot.cli import main
from bot.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
COMPOSE_SCHEMA = json.loads(
    (Path(__file__).parent / "fixtures" / "compose-spec" / "compose-spec.json").read_text()
)
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def readme_section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


# Dockerfile ---------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.lstrip().startswith("#") and not pending:
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        if text:
            logical.append(text)
    return [(t.split(None, 1)[0].upper(), t.split(None, 1)[1]) for t in logical]


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    return instructions[last_from:]


def exec_form(arguments: str) -> list[str]:
    value = json.loads(arguments)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value)
    return value


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for op, arguments in final_stage():
        if op == "ENV":
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def image_command() -> list[str]:
    stage = dict(final_stage())
    return exec_form(stage["ENTRYPOINT"]) + exec_form(stage["CMD"])


def healthcheck_command() -> list[str]:
    (arguments,) = [a for op, a in final_stage() if op == "HEALTHCHECK"]
    return exec_form(arguments.split(" CMD ", 1)[1])


def test_dockerfile_is_multi_stage_and_runs_as_a_user() -> None:
    froms = [a for op, a in dockerfile_instructions() if op == "FROM"]
    assert len(froms) >= 2 and any(" AS build" in a for a in froms)
    users = [a for op, a in final_stage() if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    copies = [a for op, a in final_stage() if op == "COPY"]
    assert copies == ["--from=build /opt/ai-roi /opt/ai-roi"]  # no sources, no build tools


def test_dockerfile_installs_from_the_lock_file_with_hashes() -> None:
    runs = " ".join(a for op, a in dockerfile_instructions() if op == "RUN")
    assert "--require-hashes" in runs and "-r /src/requirements.lock" in runs


def test_image_command_and_healthcheck_match_the_readme() -> None:
    command = image_command()
    assert command[:2] == ["ai-roi", "serve"]
    deployment = readme_section("Deployment")
    assert " ".join(command) in deployment
    health = " ".join(healthcheck_command())
    assert "/healthz" in health and "PORT" in health
    assert "HEALTHCHECK" in deployment and "/healthz" in deployment
    env = image_env()
    settings = load_settings(env_file=None, database_url=env["DATABASE_URL"], port=env["PORT"])
    assert settings.port == 3000
    for name in env:
        if name.lower() in Settings.model_fields:
            assert f"`{name}`" in README


def test_dockerignore_keeps_out_secrets_and_keeps_what_the_image_copies() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    ignored = [p for p in patterns if not p.startswith("!")]
    for secret in (".env", ".venv", "var", ".git"):
        assert secret in ignored
    sources = []
    for op, arguments in dockerfile_instructions():
        if op == "COPY" and not arguments.startswith("--from"):
            sources += [
                Path(s).relative_to("/") if s.startswith("/") else s for s in arguments.split()[:-1]
            ]
    assert "requirements.lock" in [str(s) for s in sources]
    for source in sources:
        assert not any(fnmatch.fnmatch(str(source), p) for p in ignored), source
        assert (ROOT / str(source)).exists(), source


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_images_command_answers_its_own_healthcheck(tmp_path: Path) -> None:
    """``ENTRYPOINT`` + ``CMD`` with the image's environment, outside a container: the
    HEALTHCHECK command fails before the server is up and passes once it is."""
    env = {
        **image_env(),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "PORT": str(free_port()),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'ai-roi.db'}",  # /data in the image
        "WEBHOOK_TOKENS": "smoke-test-token",
        "LOG_LEVEL": "WARNING",
    }
    command = image_command()
    command[0] = str(Path(sys.executable).parent / command[0])
    healthcheck = healthcheck_command()
    healthcheck[0] = sys.executable

    def healthy() -> bool:
        return (
            subprocess.run(healthcheck, env=env, capture_output=True, check=False).returncode == 0
        )

    assert not healthy()
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while not healthy():
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert time.monotonic() < deadline, "the server did not become healthy"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0].decode()
    assert "Traceback" not in output


# compose.yaml -------------------------------------------------------------------------------


def test_compose_file_validates_against_the_compose_specification() -> None:
    validator = jsonschema.Draft7Validator(COMPOSE_SCHEMA)
    assert [error.message for error in validator.iter_errors(COMPOSE)] == []


def test_compose_runs_postgres_then_migrations_then_two_replicas() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "migrate", "app"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])

    migrate = services["migrate"]
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"

    app = services["app"]
    assert app["deploy"]["replicas"] == 2
    assert app["command"] == image_command()[1:]
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "/readyz" in " ".join(app["healthcheck"]["test"])
    for service in (migrate, app):
        assert service["build"] == "."


def test_compose_environment_is_valid_settings_named_in_the_readme() -> None:
    deployment = readme_section("Deployment")
    for name in ("migrate", "app"):
        environment = COMPOSE["services"][name]["environment"]
        url = re.sub(r"\$\{(\w+):-([^}]*)\}", r"\2", environment["DATABASE_URL"])
        assert url.startswith("postgresql://")  # what hosts hand out; used with psycopg
        settings = load_settings(env_file=None, database_url=url, port=environment["PORT"])
        assert settings.database_url.startswith("postgresql+psycopg://")
        for variable in environment:
            assert variable.lower() in Settings.model_fields
            assert f"`{variable}`" in deployment
    assert "docker compose up" in deployment and "POSTGRES_PASSWORD" in deployment


# Lock file, licence, version ------------------------------------------------------------------


def locked_versions() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", text, re.MULTILINE))
    return {name.lower().replace("_", "-"): version for name, version in pins.items()}


def test_lock_file_pins_every_dependency_within_its_range_with_hashes() -> None:
    text = (ROOT / "requirements.lock").read_text()
    pins = locked_versions()
    for line in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(line)
        name = requirement.name.lower().replace("_", "-")
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        assert name in pins, f"{name} is not in requirements.lock (run `make lock`)"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]}"
    assert text.count("--hash=sha256:") >= len(pins)
    assert "pytest" not in pins  # the image gets runtime dependencies only


def test_make_lock_refreshes_it_and_make_install_does_not_need_it() -> None:
    makefile = (ROOT / "Makefile").read_text()
    lock_rule = makefile.split("\nlock:", 1)[1].split("\n\n", 1)[0]
    assert "requirements.lock" in lock_rule and "--generate-hashes" in lock_rule
    stamp_rule = makefile.split("\n$(STAMP):", 1)[1].split("\n\n", 1)[0]
    assert "requirements.lock" not in stamp_rule


def test_licence_is_mit_as_pyproject_says() -> None:
    licence = (ROOT / "LICENSE").read_text()
    assert PYPROJECT["project"]["license"] == {"text": "MIT"}
    assert licence.startswith("MIT License") and "ai-roi contributors" in licence


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"ai-roi {PYPROJECT['project']['version']}\n"
    assert __version__ == PYPROJECT["project"]["version"]
