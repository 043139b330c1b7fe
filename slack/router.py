"""The Slack routes of `perfagent serve`: thin HTTP handlers over `SlackBot`.

Each request is checked before anything reads it: the `v0` HMAC-SHA256 signature over the raw
body with the signing secret, and a timestamp no older than five minutes (else 401). Then the
route acks at once (Slack gives up after 3 s and retries) and the agent turn runs on the bot's
worker pool. A delivery seen before (same `event_id`, e.g. a retry with `X-Slack-Retry-Num`) is
acked and dropped; so are bots, edits and channel chatter not addressed to the bot.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from slack_sdk.signature import SignatureVerifier

from perfagent.settings import SlackSettings
from perfagent.slack.handlers import EMPTY_QUESTION, WORKING, SlackBot, build_slack_bot
from perfagent.slack.prefilter import ProcessedEvents, skip_reason
from perfagent.slack.request import from_command_form, from_event_callback

log = logging.getLogger(__name__)

# Slack's rule: a request more than five minutes old (or ahead) may be a replay.
MAX_AGE_SECONDS = 5 * 60


def signature_ok(verifier: SignatureVerifier, body: bytes, headers: Any) -> bool:
    """Whether Slack signed this raw body recently (a malformed timestamp is simply invalid)."""
    timestamp = headers.get("x-slack-request-timestamp")
    signature = headers.get("x-slack-signature")
    if not timestamp or not signature:
        return False
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        return False
    return age <= MAX_AGE_SECONDS and verifier.is_valid(body, timestamp, signature)


def slack_router(
    bot: SlackBot | None, verifier: SignatureVerifier | None, processed: ProcessedEvents | None
) -> APIRouter:
    """`/slack/events` and `/slack/commands`. With no bot (Slack not configured) both answer
    503 with what to set."""
    router = APIRouter(prefix="/slack")

    async def checked_body(request: Request) -> bytes | JSONResponse:
        """The raw body if Slack signed it; else the answer to send back (503 or 401)."""
        if bot is None or verifier is None or processed is None:
            message = "Slack is not configured: set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN"
            return JSONResponse({"error": message}, status_code=503)
        body = await request.body()
        if not signature_ok(verifier, body, request.headers):
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        return body

    @router.post("/events")
    async def events(request: Request) -> Response:
        body = await checked_body(request)
        if isinstance(body, Response):
            return body
        assert bot is not None and processed is not None  # checked_body saw them
        try:
            payload = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "the body is not JSON"}, status_code=400)
        kind = payload.get("type") if isinstance(payload, dict) else None
        if kind == "url_verification":
            return JSONResponse({"challenge": str(payload.get("challenge", ""))})
        if kind != "event_callback":
            return Response(status_code=200)
        slack_request = from_event_callback(payload)
        reason = skip_reason(slack_request)
        if reason is not None:
            log.debug("slack event %s skipped: %s", slack_request.event_id, reason)
            return Response(status_code=200)
        if not processed.claim(slack_request.event_id):
            retry = request.headers.get("x-slack-retry-num", "")
            log.info("slack event %s seen before (retry %s)", slack_request.event_id, retry)
            return Response(status_code=200)
        bot.submit(slack_request)
        return Response(status_code=200)

    @router.post("/commands")
    async def commands(request: Request) -> Response:
        body = await checked_body(request)
        if isinstance(body, Response):
            return body
        assert bot is not None and processed is not None  # checked_body saw them
        slack_request = from_command_form(body)
        if skip_reason(slack_request) is not None:
            return Response(status_code=200)
        if not slack_request.text:  # nothing to run: the help goes back in the ack itself
            return JSONResponse({"response_type": "ephemeral", "text": EMPTY_QUESTION})
        if not processed.claim(slack_request.event_id):
            return Response(status_code=200)
        bot.submit(slack_request)
        return JSONResponse({"response_type": "ephemeral", "text": WORKING})

    return router


def build_slack_routes(
    container: Any, settings: SlackSettings, home: Path
) -> tuple[APIRouter, SlackBot | None]:
    """The routes for `perfagent serve` and the bot behind them (None: Slack not configured).
    Claimed event ids live in `<home>/slack-events.sqlite`, so a restart keeps them."""
    built = build_slack_bot(container, settings)
    if built is None:
        return slack_router(None, None, None), None
    bot, verifier = built
    processed = ProcessedEvents(home / "slack-events.sqlite")
    return slack_router(bot, verifier, processed), bot
