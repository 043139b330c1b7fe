"""The Slack bot's pure parts: signatures, parsing what Slack sends, which events are answered,
once-only claims, and the Block Kit messages."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from perfagent.slack.blocks import (
    CONTEXT_ELEMENTS,
    MAX_BLOCKS,
    QUOTE_CHARS,
    SECTION_CHARS,
    answer_message,
    notice,
    to_mrkdwn,
)
from perfagent.slack.prefilter import ProcessedEvents, skip_reason
from perfagent.slack.request import clean_text, from_command_form, from_event_callback
from perfagent.slack.router import signature_ok

SECRET = "a-signing-secret"


def _signed(body: bytes, *, age: float = 0, secret: str = SECRET) -> dict[str, str]:
    timestamp = str(int(time.time() - age))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return {"x-slack-request-timestamp": timestamp, "x-slack-signature": str(signature)}


# --- signatures ----------------------------------------------------------------------------------


def test_a_fresh_correct_signature_passes() -> None:
    body = b'{"type": "event_callback"}'
    assert signature_ok(SignatureVerifier(SECRET), body, _signed(body))


@pytest.mark.parametrize(
    "case",
    ["other secret", "body changed", "stale", "future", "no timestamp", "no signature", "bad ts"],
)
def test_anything_else_fails(case: str) -> None:
    body = b'{"type": "event_callback"}'
    headers = _signed(body)
    if case == "other secret":
        headers = _signed(body, secret="another-secret")
    elif case == "body changed":
        body = b'{"type": "event_callback", "x": 1}'
    elif case == "stale":
        headers = _signed(body, age=5 * 60 + 5)
    elif case == "future":
        headers = _signed(body, age=-(5 * 60 + 5))
    elif case == "no timestamp":
        del headers["x-slack-request-timestamp"]
    elif case == "no signature":
        del headers["x-slack-signature"]
    else:
        headers["x-slack-request-timestamp"] = "yesterday"
    assert not signature_ok(SignatureVerifier(SECRET), body, headers)


def test_a_four_minute_old_request_still_passes() -> None:
    body = b"command=%2Ffeedback"
    assert signature_ok(SignatureVerifier(SECRET), body, _signed(body, age=4 * 60))


# --- parsing -------------------------------------------------------------------------------------


def _envelope(**event: Any) -> dict[str, Any]:
    return {
        "type": "event_callback",
        "team_id": "T1",
        "event_id": "Ev1",
        "authorizations": [{"user_id": "UBOT", "is_bot": True}],
        "event": {"type": "message", "user": "U1", "channel": "D1", "ts": "10.1", **event},
    }


def test_the_bot_mention_and_slack_escapes_leave_the_question() -> None:
    assert clean_text("<@U07BOT> how is  Sofia &amp; Mike &lt;doing&gt;?") == (
        "how is Sofia & Mike <doing>?"
    )
    assert clean_text("<@U07BOT|perfagent> hi") == "hi"


def test_an_event_is_parsed_with_its_thread_and_the_bot_id() -> None:
    request = from_event_callback(_envelope(channel_type="im", text="<@UBOT> hi", thread_ts="9.0"))
    assert request.kind == "event" and request.private
    assert (request.user_id, request.text, request.event_id) == ("U1", "hi", "Ev1")
    assert request.reply_thread == "9.0"
    assert request.bot_user_id == "UBOT"
    # one conversation per asker and thread
    assert request.conversation == "slack:T1:D1:9.0:U1"
    top_level = from_event_callback(_envelope(channel_type="im", text="hi"))
    assert top_level.reply_thread == "10.1"
    assert top_level.conversation != request.conversation


def test_a_mention_is_never_private() -> None:
    request = from_event_callback(_envelope(type="app_mention", text="<@UBOT> hi"))
    assert request.channel_type == "channel" and not request.private


def test_a_slash_command_form() -> None:
    form = {
        "command": "/feedback",
        "text": "how is Sofia?",
        "user_id": "U1",
        "channel_id": "C1",
        "channel_name": "payments",
        "response_url": "https://hooks.slack.com/commands/1/2/3",
        "trigger_id": "123.456",
    }
    request = from_command_form(urlencode(form).encode())
    assert request.kind == "command" and not request.private
    assert request.event_id == "command:123.456"
    assert request.response_url.endswith("/1/2/3")
    assert request.conversation == ""  # commands are one-off
    dm = from_command_form(urlencode({**form, "channel_name": "directmessage"}).encode())
    assert dm.private


# --- which events are answered -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "answered"),
    [
        ({"channel_type": "im", "text": "hi"}, True),
        ({"type": "app_mention", "text": "hi", "channel": "C1"}, True),
        ({"channel_type": "channel", "text": "hi"}, False),  # chatter without a mention
        ({"channel_type": "im", "bot_id": "B9"}, False),
        ({"channel_type": "im", "user": "UBOT"}, False),  # the bot itself
        ({"channel_type": "im", "subtype": "message_changed"}, False),
        ({"channel_type": "im", "edited": {"ts": "1"}}, False),
        ({"channel_type": "im", "user": ""}, False),
        ({"type": "reaction_added"}, False),
    ],
)
def test_skip_reason(event: dict[str, Any], answered: bool) -> None:
    reason = skip_reason(from_event_callback(_envelope(**event)))
    assert (reason is None) == answered, reason


def test_claims_are_once_only_and_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "slack-events.sqlite"
    events = ProcessedEvents(path)
    assert events.claim("Ev1")
    assert not events.claim("Ev1")
    assert events.claim("Ev2")
    events.close()
    reopened = ProcessedEvents(path)
    assert not reopened.claim("Ev1") and not reopened.claim("Ev2")
    assert reopened.claim("Ev3")
    assert reopened.claim("") and reopened.claim("")  # no id: nothing to deduplicate by
    reopened.close()


# --- Block Kit -----------------------------------------------------------------------------------


def test_markdown_becomes_mrkdwn() -> None:
    text = to_mrkdwn("## Scores\n- **delivery** 4.1 [1]\n* a < b & c")
    assert text.splitlines() == ["*Scores*", "• *delivery* 4.1 [1]", "• a &lt; b &amp; c"]


def _citation(n: int, quote: str = "ran the three cross-team syncs") -> dict[str, Any]:
    return {"n": n, "doc_type": "weekly_report", "date": "2026-08-14", "quote": quote}


def test_an_answer_with_its_sources() -> None:
    fallback, blocks = answer_message("Sofia ran the syncs [1].", [_citation(1)])
    assert fallback == "Sofia ran the syncs [1]."
    assert blocks[0] == {"type": "section", "text": {"type": "mrkdwn", "text": fallback}}
    (sources,) = [b for b in blocks if b["type"] == "context" and "[1]" in json.dumps(b)]
    assert sources["elements"][0]["text"] == (
        "[1] weekly report, 2026-08-14: “ran the three cross-team syncs”"
    )


def test_long_answers_and_many_sources_fit_slacks_limits() -> None:
    body = "\n\n".join(f"Paragraph {i}: " + "word " * 300 for i in range(12))
    long_quote = "x " * 400
    fallback, blocks = answer_message(body, [_citation(n, long_quote) for n in range(1, 24)])
    assert len(fallback) <= 280
    sections = [b for b in blocks if b["type"] == "section"]
    assert all(len(b["text"]["text"]) <= SECTION_CHARS for b in sections)
    contexts = [b for b in blocks if b["type"] == "context"]
    assert all(len(b["elements"]) <= CONTEXT_ELEMENTS for b in contexts)
    quotes = [e["text"] for b in contexts for e in b["elements"] if e["text"].startswith("[")]
    assert len(quotes) == 23
    assert all(q.endswith("…”") and len(q) < QUOTE_CHARS + 60 for q in quotes)
    # nothing of the body is lost while it fits
    joined = " ".join(b["text"]["text"] for b in sections)
    assert all(f"Paragraph {i}:" in joined for i in range(12))
    assert len(blocks) <= MAX_BLOCKS


def test_an_answer_too_long_for_one_message_says_so() -> None:
    body = "\n\n".join("word " * 560 for _ in range(60))
    _, blocks = answer_message(body, [])
    assert len(blocks) == MAX_BLOCKS
    assert "shortened" in blocks[-1]["text"]["text"]


def test_a_notice_is_one_section() -> None:
    text, blocks = notice("I can't share that.")
    assert text == "I can't share that." and len(blocks) == 1
