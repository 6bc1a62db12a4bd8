"""The HTTP baseline of ``bench.ingest``: the smallest FastAPI app under uvicorn that does what
``POST /webhooks/usage`` must do for one event.

It checks the Standard Webhooks signature (HMAC-SHA256 of ``id.timestamp.body``, base64, a
timestamp within five minutes, constant-time compare), decodes the JSON, inserts the event into
one SQLite table with a unique key (WAL, ``synchronous=FULL``) and commits before it answers
202. Nothing else: no schema check, no people, no replay record, no metrics, no middleware.

``python -m bench.http_baseline --database PATH --port PORT --secret whsec_...``
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import sqlite3
import time
from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response


def build(database: str, secret: str) -> FastAPI:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute(
        "CREATE TABLE IF NOT EXISTS event (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, "
        "type TEXT, occurred_at TEXT, email TEXT, tool TEXT, model TEXT, input_tokens INTEGER, "
        "output_tokens INTEGER, cost_usd TEXT)"
    )
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> Response:
        return Response("ok")

    @app.post("/webhooks/usage")
    async def usage(request: Request) -> Response:
        body = await request.body()
        headers = request.headers
        msg_id = headers.get("webhook-id", "")
        timestamp = headers.get("webhook-timestamp", "0")
        if abs(time.time() - int(timestamp)) > 300:
            return JSONResponse({"error": "timestamp"}, status_code=401)
        expected = base64.b64encode(
            hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
        )
        offered = [
            part.partition(",")[2].encode() for part in headers.get("webhook-signature", "").split()
        ]
        if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return JSONResponse({"error": "signature"}, status_code=401)
        event = json.loads(body)
        usage = event.get("usage") or {}
        cursor = connection.execute(
            "INSERT INTO event (key, type, occurred_at, email, tool, model, input_tokens, "
            "output_tokens, cost_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO NOTHING",
            (
                event["id"],
                event["type"],
                event["occurred_at"],
                (event.get("actor") or {}).get("email"),
                event.get("tool"),
                event.get("model"),
                usage.get("input_tokens"),
                usage.get("output_tokens"),
                usage.get("cost_usd"),
            ),
        )  # autocommit: the statement's own transaction is committed before it returns
        accepted = cursor.rowcount
        return JSONResponse(
            {"accepted": accepted, "duplicates": 1 - accepted, "rejected": []}, status_code=202
        )

    return app


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bench.http_baseline")
    parser.add_argument("--database", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    options = parser.parse_args(argv)
    uvicorn.run(
        build(options.database, options.secret),
        host="127.0.0.1",
        port=options.port,
        workers=1,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )


if __name__ == "__main__":
    main()
