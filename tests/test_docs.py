"""The docs stay true: every command and setting is documented, the manifest validates."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import jsonschema
import yaml

from bot.cli import build_parser
from bot.settings import Settings
from fakes.reference import SLACK_REFERENCE

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
MANIFEST_SCHEMA = (
    SLACK_REFERENCE / "slackapi-manifest-schema" / "schemas" / "manifest.schema.1.0.0.json"
)


def commands(parser: argparse.ArgumentParser, prefix: str = "ai-roi") -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                nested = commands(sub, f"{prefix} {name}")
                found.extend(nested or [f"{prefix} {name}"])
    return found


def test_every_command_is_in_the_readme() -> None:
    names = commands(build_parser())
    assert "ai-roi directory import" in names
    assert [name for name in names if name not in README] == []


def test_every_setting_is_in_env_example_and_readme() -> None:
    for field in Settings.model_fields:
        name = field.upper()
        assert re.search(rf"^#?\s*{name}=", ENV_EXAMPLE, re.MULTILINE), (
            f"{name} missing from .env.example"
        )
        assert f"`{name}`" in README, f"{name} missing from README"


def test_quickstart_is_the_two_commands() -> None:
    quickstart = README.split("## Quickstart", 1)[1].split("##", 1)[0]
    block = quickstart.split("```sh", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in block.strip().splitlines()] == [
        "make demo",
        "make test",
    ]


def test_manifest_validates_against_slacks_schema() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    schema = json.loads(MANIFEST_SCHEMA.read_text())
    errors = [error.message for error in jsonschema.Draft7Validator(schema).iter_errors(manifest)]
    assert errors == []
