"""`ai-roi serve` as a real process: migrates, answers health checks, accepts a webhook, stops."""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bot.http.server import YOUNG_COLLECTION_THRESHOLD, collector_for_serving


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_starts_migrates_ingests_and_stops(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "WEBHOOK_TOKENS": "serve-test-token",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, (
                    process.stdout.read().decode() if process.stdout else ""
                )
                assert time.monotonic() < deadline, "serve did not come up"
                time.sleep(0.1)
            assert client.get("/readyz").json()["migrations"] == "current"
            event = {
                "id": "s1",
                "type": "ai.usage",
                "occurred_at": "2026-11-18T09:00:00Z",
                "actor": {"email": "ana@example.com"},
                "usage": {"input_tokens": 3},
            }
            response = client.post(
                "/webhooks/usage",
                content=json.dumps(event),
                headers={
                    "authorization": "Bearer serve-test-token",
                    "content-type": "application/json",
                },
            )
            assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0].decode()
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status reports it.
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Traceback" not in output


def test_serving_freezes_what_start_up_loaded_and_collects_the_young_less_often() -> None:
    """Before uvicorn starts, the objects alive so far leave the cycle collector's walks, and
    the youngest generation is collected every ``YOUNG_COLLECTION_THRESHOLD`` allocations."""
    threshold = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    loaded = object.__new__(type("Loaded", (), {}))  # an object start-up made
    try:
        collector_for_serving()
        assert gc.get_freeze_count() > frozen_before
        assert not any(item is loaded for item in gc.get_objects())  # frozen: not walked
        assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
