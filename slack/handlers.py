"""Answering a Slack request: who asks (their `slack_user_id` in the org file), where the answer
may go, and the agent turn, run off the request thread.

Privacy: an answer about someone's performance goes only where the asker alone reads it. Asked
in a direct message, the bot answers there, in the thread. Asked in a channel (or a group DM),
the answer goes to the asker's DM and the channel thread only says so, with no content. A slash
command answers ephemerally (only the asker sees it) through its `response_url`.

Errors reach the asker as a message, never silence; the log names the request and the error,
never the message text.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from perfagent.errors import BadInputError
from perfagent.org import OrgChart, Person
from perfagent.settings import SlackSettings
from perfagent.slack.blocks import Blocks, answer_message, notice
from perfagent.slack.request import SlackRequest

log = logging.getLogger(__name__)

UNKNOWN_USER = (
    "Sorry, I don't know who you are in perfagent: your Slack account is not linked to a person "
    "in the org file. Ask HR to add your Slack user id."
)
SENT_BY_DM = "I've sent you the answer in a direct message: performance details stay private."
EMPTY_QUESTION = (
    'Ask me about someone\'s work, e.g. "How did Sofia do on collaboration last quarter?" or '
    '"Draft my self-review for H1".'
)
FAILED = "Sorry, something went wrong while answering. Please try again in a minute."
WORKING = "Looking into it…"
CONVERSATION_LOCKS = 64


def retry_handlers() -> list[Any]:
    """Slack's rate limits (HTTP 429, waits `Retry-After`) and dropped connections, retried."""
    return [RateLimitErrorRetryHandler(max_retry_count=3), ConnectionErrorRetryHandler()]


def web_client(token: str, base_url: str) -> WebClient:
    return WebClient(token=token, base_url=base_url, retry_handlers=retry_handlers())


def slack_secrets(settings: SlackSettings) -> tuple[str, str] | None:
    """(signing secret, bot token) from the environment, or None when either is missing."""
    secret = os.environ.get(settings.signing_secret_env, "").strip()
    token = os.environ.get(settings.bot_token_env, "").strip()
    return (secret, token) if secret and token else None


def build_slack_bot(
    container: Any, settings: SlackSettings
) -> tuple[SlackBot, SignatureVerifier] | None:
    """The bot and its request verifier, when the secrets are set; else None."""
    secrets = slack_secrets(settings)
    if secrets is None:
        return None
    secret, token = secrets
    bot = SlackBot(container, web_client(token, settings.api_url), workers=settings.workers)
    return bot, SignatureVerifier(secret)


class SlackBot:
    """Runs agent turns for Slack requests on a small worker pool."""

    def __init__(
        self,
        container: Any,
        client: WebClient,
        *,
        workers: int = 2,
        webhook: Callable[[str], WebhookClient] | None = None,
    ) -> None:
        self.container = container
        self.client = client
        self._webhook = webhook or (lambda url: WebhookClient(url, retry_handlers=retry_handlers()))
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="slack")
        self._bot_user_id: str | None = None
        self._lock = threading.Lock()
        self._pending = 0
        self._idle = threading.Condition()
        # Turns of one conversation (a Slack thread) run one after the other, so a quick
        # follow-up reads the finished first turn; striped, so the locks stay few.
        self._conversation_locks = [threading.Lock() for _ in range(CONVERSATION_LOCKS)]

    # --- identity ------------------------------------------------------------------------

    @property
    def org(self) -> OrgChart:
        return self.container.org

    def person(self, slack_user_id: str) -> Person | None:
        return next((p for p in self.org if p.slack_user_id == slack_user_id), None)

    def bot_user_id(self) -> str:
        """The bot's own user id (`auth.test`, once), to ignore its own messages."""
        with self._lock:
            if self._bot_user_id is None:
                try:
                    self._bot_user_id = str(self.client.auth_test().get("user_id") or "")
                except SlackApiError as exc:
                    log.warning("slack auth.test failed: %s", exc.response.get("error"))
                    return ""
            return self._bot_user_id

    # --- entry points (called from the web request; return at once) -----------------------

    def submit(self, request: SlackRequest) -> Future[None]:
        with self._idle:
            self._pending += 1
        future = self._pool.submit(self._run, request)
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _future: Future[None]) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    @property
    def pending(self) -> int:
        """Requests submitted and not yet answered (running or queued)."""
        with self._idle:
            return self._pending

    def wait_idle(self, timeout: float) -> bool:
        """Whether every request submitted so far was answered within `timeout` seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)

    # --- the work ------------------------------------------------------------------------

    def _run(self, request: SlackRequest) -> None:
        try:
            self._answer(request)
        except Exception as exc:
            log.error(
                "slack request %s (%s) failed: %s",
                request.event_id or request.command,
                request.kind,
                type(exc).__name__,
            )
            self._deliver_quietly(request, *notice(FAILED))

    def _answer(self, request: SlackRequest) -> None:
        if request.kind == "event" and request.user_id == self.bot_user_id():
            return  # the bot's own message, delivered without a bot_id
        person = self.person(request.user_id)
        if person is None:
            self._tell(request, *notice(UNKNOWN_USER))
            return
        if not request.text:
            self._tell(request, *notice(EMPTY_QUESTION))
            return
        viewer = self.container.search_service.policy.viewer(person.employee_id)
        conversation = request.conversation
        lock = self._conversation_locks[hash(conversation) % CONVERSATION_LOCKS]
        try:
            with lock if conversation else nullcontext():
                answer = self.container.agent.ask(
                    viewer, request.text, thread_id=conversation or None
                )
        except BadInputError as exc:
            self._tell(request, *notice(f"I couldn't do that: {exc}"))
            return
        self._deliver(request, *answer_message(answer.body, answer.citations))

    def _deliver(self, request: SlackRequest, text: str, blocks: Blocks) -> None:
        """An answer, where only the asker reads it: in place in a DM, ephemerally for a
        command, else in their DM with a pointer (no content) in the channel thread."""
        if request.kind == "command" or request.private:
            self._tell(request, text, blocks)
            return
        dm = self.client.conversations_open(users=request.user_id)
        self.client.chat_postMessage(channel=dm["channel"]["id"], text=text, blocks=blocks)
        fallback, notice_blocks = notice(SENT_BY_DM)
        self.client.chat_postMessage(
            channel=request.channel_id,
            text=fallback,
            blocks=notice_blocks,
            thread_ts=request.reply_thread,
        )

    def _tell(self, request: SlackRequest, text: str, blocks: Blocks) -> None:
        """A reply only the asker sees, where they asked: the DM thread, an ephemeral message in
        a channel, or the command's `response_url`."""
        if request.kind == "command":
            response = self._webhook(request.response_url).send(
                text=text, blocks=blocks, response_type="ephemeral", replace_original=True
            )
            if response.status_code != 200:
                raise RuntimeError(f"response_url answered {response.status_code}")
        elif request.private:
            self.client.chat_postMessage(
                channel=request.channel_id, text=text, blocks=blocks, thread_ts=request.reply_thread
            )
        else:
            self.client.chat_postEphemeral(
                channel=request.channel_id,
                user=request.user_id,
                text=text,
                blocks=blocks,
                thread_ts=request.reply_thread,
            )

    def _deliver_quietly(self, request: SlackRequest, text: str, blocks: Blocks) -> None:
        """The error message itself; if even that fails, only the log knows."""
        try:
            self._tell(request, text, blocks)
        except Exception as exc:
            log.error(
                "slack request %s: could not report the failure either: %s",
                request.event_id or request.command,
                type(exc).__name__,
            )
