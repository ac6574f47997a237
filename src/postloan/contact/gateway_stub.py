"""A loopback SMS gateway / webhook receiver for tests, demos and benchmarks.

It speaks both SMS shapes the adapters use (generic JSON: ``POST /messages``,
``GET /messages/{id}``; Alibaba-Cloud-like form posts with ``Action=SendSms`` /
``QuerySendDetails``) and records **every** accepted request, duplicates
included: it does not de-duplicate, so counting at it proves exactly-once.
A request is recorded only once its whole body has arrived.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Received:
    """What the stub accepted, in arrival order."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, message: dict[str, Any]) -> None:
        with self.lock:
            self.messages.append(message)

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(str(m["id"]) for m in self.messages)

    def ids(self) -> set[str]:
        return set(self.counts())


class _Handler(BaseHTTPRequestHandler):
    server: GatewayStub
    protocol_version = "HTTP/1.1"  # keep-alive: one connection per sender
    disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms delayed ACK)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length)
        return data if len(data) == length else None  # cut off: the sender died

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.startswith("/messages/"):
            found = self.path.rsplit("/", 1)[1] in self.server.received.ids()
            self._reply(200 if found else 404, {"found": found})
        else:
            self._reply(404, {})

    def do_POST(self) -> None:  # noqa: N802
        body = self._body()
        if body is None:
            return
        if self.server.fail_next > 0:
            self.server.fail_next -= 1
            self._reply(503, {"error": "try later"})
            return
        if self.path.startswith("/messages"):
            msg = json.loads(body)
            self.server.received.add({**msg, "shape": "json"})
            self._reply(202, {"id": msg["id"]})
            return
        if self.path.startswith("/hook"):
            msg = json.loads(body)
            self.server.received.add({"id": msg["message_id"], **msg, "shape": "webhook"})
            self._reply(200, {})
            return
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("Action") == "SendSms":
            self.server.received.add({"id": form["OutId"], **form, "shape": "aliyun"})
            self._reply(200, {"Code": "OK", "BizId": f"biz-{form['OutId'][:8]}"})
        elif form.get("Action") == "QuerySendDetails":
            sent = [
                {"OutId": m["id"], "PhoneNum": m.get("PhoneNumbers"), "SendStatus": 3}
                for m in list(self.server.received.messages)
                if m.get("PhoneNumbers") == form.get("PhoneNumber")
            ]
            self._reply(200, {"Code": "OK", "SmsSendDetailDTOs": {"SmsSendDetailDTO": sent}})
        else:
            self._reply(400, {"Code": "isv.INVALID_PARAMETERS"})


class GatewayStub(ThreadingHTTPServer):
    """``with GatewayStub() as gw: gw.url`` — serves on 127.0.0.1 in a thread."""

    daemon_threads = True

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.received = Received()
        self.fail_next = 0
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ARG002
        """A sender killed mid-request resets its connection: expected here, not news."""

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> GatewayStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
