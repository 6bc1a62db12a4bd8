"""Where the fakes and tests find the reference data copied into the repository (see each folder's README)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
SLACK_REFERENCE = FIXTURES / "slack-reference"
VENDOR_EXAMPLES = FIXTURES / "vendor-examples"
