"""A small real HTTP server standing in for Slack: the Web API (`/api/<method>`) and the
`response_url`s of slash commands (`/response/<name>`). It records every call it gets and answers
like Slack does, or as a test scripted it (an error, HTTP 429 with Retry-After, ...). The bot
reaches it through `WebClient(base_url=...)`, so the real slack_sdk code runs, retries included.
Used by the Slack tests and `bench/slack_bench.py`."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

BOT_USER_ID = "U0PERFBOT"


@dataclass
class Call:
    """One request the fake received: the API method (or `response:<name>`), its arguments
    (query, form or JSON body, merged) and when it came."""

    method: str
    args: dict[str, Any]
    token: str
    at: float = field(default_factory=time.monotonic)
    status: int = 200

    def text_and_blocks(self) -> str:
        """Everything a person would read in the message: its text and its blocks' texts."""
        blocks = self.args.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        return "\n".join([str(self.args.get("text", "")), *_block_texts(blocks)])


def _block_texts(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "text" and isinstance(item, str):
                yield item
            else:
                yield from _block_texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _block_texts(item)


@dataclass
class Scripted:
    status: int
    body: dict[str, Any] | str
    headers: dict[str, str]


class FakeSlack:
    """Start with `running()`; `base_url` goes to `WebClient`, `response_url(name)` into a slash
    command's form."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._scripts: dict[str, deque[Scripted]] = {}
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._ts = 0

    # --- set-up ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.url}/response/{name}"

    def script(
        self,
        method: str,
        body: dict[str, Any] | str,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` calls of `method` get this answer instead of the usual one."""
        with self._changed:
            queue = self._scripts.setdefault(method, deque())
            queue.extend(Scripted(status, body, headers or {}) for _ in range(times))

    def reset(self) -> None:
        with self._changed:
            self.calls.clear()
            self._scripts.clear()

    # --- reading what happened ---------------------------------------------------------------

    def of(self, method: str) -> list[Call]:
        with self._changed:
            return [c for c in self.calls if c.method == method]

    def wait_for(
        self, predicate: Callable[[list[Call]], bool], timeout: float = 60.0
    ) -> list[Call]:
        """Block until `predicate(calls)` holds; the calls so far (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.calls):
                left = deadline - time.monotonic()
                if left <= 0:
                    methods = [c.method for c in self.calls]
                    raise AssertionError(f"the fake Slack never saw that; calls: {methods}")
                self._changed.wait(left)
            return list(self.calls)

    def quiet(self, seconds: float) -> list[Call]:
        """The calls after `seconds` with nothing more expected (to check nothing else came)."""
        time.sleep(seconds)
        with self._changed:
            return list(self.calls)

    # --- serving ---------------------------------------------------------------------------

    def _answer(self, method: str, args: dict[str, Any]) -> Scripted:
        with self._changed:
            queue = self._scripts.get(method)
            if queue:
                return queue.popleft()
            self._ts += 1
        ts = f"1760000000.{self._ts:06d}"
        if method.startswith("response:"):
            return Scripted(200, "ok", {})
        usual: dict[str, dict[str, Any]] = {
            "auth.test": {"ok": True, "user_id": BOT_USER_ID, "bot_id": "B0PERFBOT"},
            "conversations.open": {"ok": True, "channel": {"id": f"D{args.get('users', 'X')}"}},
            "chat.postMessage": {"ok": True, "channel": args.get("channel"), "ts": ts},
            "chat.postEphemeral": {"ok": True, "message_ts": ts},
        }
        return Scripted(200, usual.get(method, {"ok": False, "error": "unknown_method"}), {})

    def _record(self, call: Call) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    @contextmanager
    def running(self) -> Iterator[FakeSlack]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8") if length else ""
                args: dict[str, Any] = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if "json" in (self.headers.get("Content-Type") or ""):
                    args.update(json.loads(raw or "{}"))
                elif raw:
                    args.update({k: v[0] for k, v in parse_qs(raw).items()})
                if parts.path.startswith("/response/"):
                    method = "response:" + parts.path.removeprefix("/response/")
                else:
                    method = parts.path.removeprefix("/api/")
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                answer = fake._answer(method, args)
                body = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
                data = body.encode("utf-8")
                self.send_response(answer.status)
                content_type = "text/plain" if isinstance(answer.body, str) else "application/json"
                self.send_header("Content-Type", content_type)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                fake._record(Call(method, args, token, status=answer.status))

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()


class SlackSender:
    """Sends what Slack sends to the app: JSON events and form-encoded commands, signed with
    slack_sdk's `SignatureVerifier` over the exact bytes posted."""

    def __init__(self, app_url: str, signing_secret: str) -> None:
        from slack_sdk.signature import SignatureVerifier

        self.app_url = app_url.rstrip("/")
        self.verifier = SignatureVerifier(signing_secret)
        self._client = httpx.Client(timeout=30)
        self._next = 0

    def headers(
        self, body: bytes, *, age: float = 0.0, signature: str | None = None
    ) -> dict[str, str]:
        timestamp = str(int(time.time() - age))
        signed = self.verifier.generate_signature(timestamp=timestamp, body=body)
        return {
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature if signature is not None else str(signed),
        }

    def post(
        self,
        path: str,
        body: bytes,
        content_type: str,
        *,
        age: float = 0.0,
        signature: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = {"Content-Type": content_type, **self.headers(body, age=age, signature=signature)}
        return self._client.post(
            f"{self.app_url}{path}", content=body, headers={**headers, **(extra or {})}
        )

    def event(self, payload: dict[str, Any], **kwargs: Any) -> httpx.Response:
        return self.post(
            "/slack/events", json.dumps(payload).encode(), "application/json", **kwargs
        )

    def command(self, form: dict[str, str], **kwargs: Any) -> httpx.Response:
        return self.post(
            "/slack/commands",
            urlencode(form).encode(),
            "application/x-www-form-urlencoded",
            **kwargs,
        )

    def new_event_id(self) -> str:
        self._next += 1
        return f"Ev{int(time.time() * 1000)}{self._next:04d}"

    def message(
        self,
        user: str,
        text: str,
        *,
        channel: str = "D0DM",
        channel_type: str = "im",
        event_type: str = "message",
        thread_ts: str = "",
        event_id: str = "",
        **event_fields: Any,
    ) -> dict[str, Any]:
        """An `event_callback` envelope as Slack sends it for a message or a mention."""
        self._next += 1
        event: dict[str, Any] = {
            "type": event_type,
            "user": user,
            "text": text,
            "channel": channel,
            "ts": f"1770000000.{self._next:06d}",
            **event_fields,
        }
        if event_type == "message":
            event["channel_type"] = channel_type
        if thread_ts:
            event["thread_ts"] = thread_ts
        return {
            "type": "event_callback",
            "team_id": "T0PERF",
            "api_app_id": "A0PERF",
            "event_id": event_id or self.new_event_id(),
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T0PERF", "user_id": BOT_USER_ID, "is_bot": True}],
            "event": event,
        }

    def close(self) -> None:
        self._client.close()
