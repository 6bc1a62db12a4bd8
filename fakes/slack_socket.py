"""Slack's Socket Mode endpoint on 127.0.0.1 for tests: a WebSocket server that speaks its protocol.

``apps.connections.open`` on the fake Web API hands out this server's ``ws://`` URL. A client
that connects is greeted with ``hello``, as Slack does; ``push`` sends it an envelope
(``events_api``, ``slash_commands``, ``interactive``) and ``acks`` records what it answered, by
envelope id. Pings are answered with pongs. RFC 6455 on plain sockets, just enough of it: text
frames, ping/pong, close; client frames must be masked, as the RFC requires.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import socket
import struct
import threading
import time
from typing import Any

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


class SocketModeServer:
    def __init__(self, app_id: str = "A0AIROI0001") -> None:
        self.app_id = app_id
        self.acks: dict[str, dict[str, Any]] = {}  # envelope id → the client's answer
        self.protocol_errors: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._clients: list[socket.socket] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name="fake-socket-mode", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._listener.getsockname()[1]}/link/?ticket=fake"

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        with self._lock:
            for client in self._clients:
                with contextlib.suppress(OSError):
                    client.close()

    def wait_for_client(self, seconds: float = 5) -> None:
        deadline = time.monotonic() + seconds
        while not self._clients:
            if time.monotonic() > deadline:
                raise TimeoutError("no Socket Mode client connected")
            time.sleep(0.01)

    def push(self, kind: str, payload: dict[str, Any], *, accepts_response: bool = False) -> str:
        """Send an envelope to the connected client; its envelope id."""
        envelope_id = f"env-{next(self._ids)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response,
            "retry_attempt": 0,
            "retry_reason": "",
        }
        self.wait_for_client()
        with self._lock:
            _send(self._clients[-1], TEXT, json.dumps(envelope).encode())
        return envelope_id

    def ack_for(self, envelope_id: str, seconds: float = 5) -> dict[str, Any]:
        """The client's acknowledgement of an envelope (Slack retries without one in 3 s)."""
        deadline = time.monotonic() + seconds
        while envelope_id not in self.acks:
            if time.monotonic() > deadline:
                raise TimeoutError(f"envelope {envelope_id} was not acknowledged")
            time.sleep(0.01)
        return self.acks[envelope_id]

    # the server side of each connection

    def _accept(self) -> None:
        while not self._closed:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            if not self._handshake(connection):
                return
            with self._lock:
                self._clients.append(connection)
                hello = {
                    "type": "hello",
                    "num_connections": len(self._clients),
                    "debug_info": {"host": "fake-socket-mode", "approximate_connection_time": 3600},
                    "connection_info": {"app_id": self.app_id},
                }
                _send(connection, TEXT, json.dumps(hello).encode())
            self._read(connection)
        except OSError:
            pass
        finally:
            with self._lock:
                if connection in self._clients:
                    self._clients.remove(connection)
            with contextlib.suppress(OSError):
                connection.close()

    def _handshake(self, connection: socket.socket) -> bool:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = connection.recv(4096)
            if not chunk:
                return False
            request += chunk
        lines = request.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])
        }
        key = headers.get("sec-websocket-key")
        if (
            not lines[0].startswith("GET ")
            or headers.get("upgrade", "").lower() != "websocket"
            or not key
        ):
            self.protocol_errors.append(f"not a WebSocket handshake: {lines[0]!r}")
            connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return False
        accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
        connection.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        return True

    def _read(self, connection: socket.socket) -> None:
        reader = connection.makefile("rb")
        while True:
            head = reader.read(2)
            if len(head) < 2:
                return
            opcode, masked, length = head[0] & 0x0F, head[1] & 0x80, head[1] & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", reader.read(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", reader.read(8))
            if not masked:
                self.protocol_errors.append("a client frame was not masked")
                return
            mask = reader.read(4)
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(reader.read(length)))
            if opcode == TEXT:
                message = json.loads(data)
                if "envelope_id" in message:
                    self.acks[message["envelope_id"]] = message
            elif opcode == PING:
                with self._lock:
                    _send(connection, PONG, data)
            elif opcode == CLOSE:
                with self._lock:
                    _send(connection, CLOSE, data[:2])
                return


def _send(connection: socket.socket, opcode: int, data: bytes) -> None:
    """One unmasked frame, as a server sends them."""
    if len(data) < 126:
        head = struct.pack("!BB", 0x80 | opcode, len(data))
    elif len(data) < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, len(data))
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, len(data))
    connection.sendall(head + data)
