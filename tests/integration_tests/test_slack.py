"""The Slack bot over real HTTP: signed requests (slack_sdk's `SignatureVerifier`) to the running
server (FastAPI + the Gradio UI under uvicorn, the real agent, model and Chroma), and the bot's Web
API calls to a local fake Slack server that records them (`tests/fake_slack.py`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from perfagent.agent.chat_model import LocalChatModel
from perfagent.settings import SlackSettings
from perfagent.slack.handlers import FAILED, SENT_BY_DM, WORKING, SlackBot
from perfagent.slack.router import build_slack_routes
from perfagent.ui.accounts import SignIn, UserStore
from perfagent.ui.gradio_ui import UiOptions
from perfagent.ui.server import build_app
from tests.fake_slack import BOT_USER_ID, Call, FakeSlack, SlackSender
from tests.ui_server import serving

pytestmark = pytest.mark.slow

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test-token"
SECRET_ENV, TOKEN_ENV = "PERFAGENT_TEST_SLACK_SECRET", "PERFAGENT_TEST_SLACK_TOKEN"
# Slack user ids from the demo org.csv
DANA = "U07DWHITF03"  # E003, manager of Payments (Sofia is in her team)
SOFIA = "U07SROSSI08"  # E008, an engineer
STRANGER = "U0NOBODY99"  # in no org file


@pytest.fixture(scope="module")
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack().running() as fake:
        yield fake


@pytest.fixture(scope="module")
def container(demo_container: Any, chat_models_dir: Path) -> Any:
    demo_container.__dict__["chat_model"] = LocalChatModel(models_dir=str(chat_models_dir))
    return demo_container


@pytest.fixture(scope="module")
def slack_env() -> Iterator[SlackSettings]:
    import os

    os.environ[SECRET_ENV], os.environ[TOKEN_ENV] = SECRET, TOKEN
    yield SlackSettings(signing_secret_env=SECRET_ENV, bot_token_env=TOKEN_ENV)
    del os.environ[SECRET_ENV], os.environ[TOKEN_ENV]


@contextmanager
def _serve(
    container: Any, settings: SlackSettings, home: Path, uploads: Path
) -> Iterator[tuple[str, SlackBot]]:
    """The whole server (UI and Slack routes) with the bot behind it."""
    routes, bot = build_slack_routes(container, settings, home)
    assert bot is not None
    sign_in = SignIn(container.org, UserStore(home / "users.json"), demo_password=None)
    app = build_app(container, sign_in, UiOptions(uploads_dir=uploads), slack_routes=routes)
    with serving(app) as url:
        yield url, bot
    bot.shutdown()


@pytest.fixture(scope="module")
def state_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("slack-home")


@pytest.fixture(scope="module")
def server(
    container: Any, fake_slack: FakeSlack, slack_env: SlackSettings, state_home: Path
) -> Iterator[tuple[str, SlackBot]]:
    settings = slack_env.model_copy(update={"api_url": fake_slack.base_url})
    with _serve(container, settings, state_home, state_home / "uploads") as served:
        yield served


@pytest.fixture
def bot(server: tuple[str, SlackBot]) -> SlackBot:
    return server[1]


@pytest.fixture
def slack(server: tuple[str, SlackBot], fake_slack: FakeSlack) -> Iterator[SlackSender]:
    server[1].wait_idle(120)  # nothing left over from the last test
    fake_slack.reset()
    sender = SlackSender(server[0], SECRET)
    yield sender
    sender.close()


def _settled(bot: SlackBot, fake_slack: FakeSlack) -> list[Call]:
    """Every call, once the bot has finished all it was given (and a moment for stragglers)."""
    assert bot.wait_idle(120), "the bot did not finish its work"
    return fake_slack.quiet(0.3)


def _messages(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.method in ("chat.postMessage", "chat.postEphemeral")]


def _answered(count: int = 1) -> Any:
    return lambda calls: len(_messages(calls)) >= count


# --- what Slack checks first -------------------------------------------------------------------


def test_the_url_verification_challenge_is_echoed(slack: SlackSender) -> None:
    response = slack.event({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV"})
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}


def test_a_forged_signature_is_refused_and_nothing_runs(
    slack: SlackSender, bot: SlackBot, fake_slack: FakeSlack
) -> None:
    payload = slack.message(DANA, "How is Sofia doing on delivery?")
    forged = "v0=" + "0" * 64
    assert slack.event(payload, signature=forged).status_code == 401
    # signed with another secret
    other = SlackSender(slack.app_url, "not-the-signing-secret")
    assert other.event(payload).status_code == 401
    assert (
        slack.command({"command": "/feedback", "text": "hi"}, signature=forged).status_code == 401
    )
    # the challenge too: an unsigned request learns nothing
    challenge = {"type": "url_verification", "challenge": "x"}
    assert slack.event(challenge, signature="").status_code == 401
    assert _settled(bot, fake_slack) == []


def test_a_stale_timestamp_is_refused(
    slack: SlackSender, bot: SlackBot, fake_slack: FakeSlack
) -> None:
    payload = slack.message(DANA, "How is Sofia doing on delivery?")
    assert slack.event(payload, age=6 * 60).status_code == 401  # correctly signed, 6 minutes old
    assert (
        slack.event({"type": "url_verification", "challenge": "c"}, age=-6 * 60).status_code == 401
    )
    assert _settled(bot, fake_slack) == []


def test_slack_is_off_without_its_secrets(container: Any, tmp_path: Path) -> None:
    import httpx

    settings = SlackSettings(signing_secret_env="PERFAGENT_TEST_UNSET", bot_token_env=TOKEN_ENV)
    routes, bot = build_slack_routes(container, settings, tmp_path)
    assert bot is None
    sign_in = SignIn(container.org, UserStore(tmp_path / "users.json"), demo_password=None)
    app = build_app(container, sign_in, UiOptions(uploads_dir=tmp_path), slack_routes=routes)
    with serving(app) as url:
        response = httpx.post(f"{url}slack/events", content=b"{}")
    assert response.status_code == 503
    assert "SLACK_SIGNING_SECRET" in response.json()["error"]


# --- answering -----------------------------------------------------------------------------------


def test_a_direct_message_is_answered_in_place_with_cited_sources(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    payload = slack.message(DANA, "How is Sofia doing on collaboration?", channel="D0DANA")
    started = time.monotonic()
    response = slack.event(payload)
    assert response.status_code == 200
    assert time.monotonic() - started < 3.0  # acked before the agent ran
    calls = fake_slack.wait_for(_answered())
    (answer,) = _messages(calls)
    assert answer.method == "chat.postMessage"
    assert answer.token == TOKEN
    assert answer.args["channel"] == "D0DANA"
    assert answer.args["thread_ts"] == payload["event"]["ts"]  # in the message's thread
    text = answer.text_and_blocks()
    assert "collaboration" in text.lower()
    assert "[1]" in text and "Sources" in text
    # the sources are a context block of quotes
    contexts = [b for b in answer.args["blocks"] if b["type"] == "context"]
    assert any("“" in e["text"] for b in contexts for e in b["elements"])


def test_a_follow_up_in_the_thread_keeps_the_person(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    first = slack.message(DANA, "How is Sofia doing on delivery?", channel="D0DANA")
    slack.event(first)
    fake_slack.wait_for(_answered(1))
    follow = slack.message(
        DANA, "and on quality?", channel="D0DANA", thread_ts=first["event"]["ts"]
    )
    slack.event(follow)
    calls = fake_slack.wait_for(_answered(2))
    second = _messages(calls)[1].text_and_blocks()
    assert "quality" in second.lower()
    assert "Sofia" in second


def test_a_retried_delivery_is_answered_once_also_after_a_restart(
    slack: SlackSender,
    bot: SlackBot,
    fake_slack: FakeSlack,
    container: Any,
    slack_env: SlackSettings,
    state_home: Path,
) -> None:
    payload = slack.message(DANA, "How is Sofia doing on ownership?", channel="D0DANA")
    assert slack.event(payload).status_code == 200
    assert slack.event(payload, extra={"X-Slack-Retry-Num": "1"}).status_code == 200
    assert len(_messages(_settled(bot, fake_slack))) == 1
    # a second server on the same home (as after a restart) drops the next delivery too
    settings = slack_env.model_copy(update={"api_url": fake_slack.base_url})
    with _serve(container, settings, state_home, state_home / "uploads2") as (url, restarted):
        sender = SlackSender(url, SECRET)
        assert sender.event(payload, extra={"X-Slack-Retry-Num": "2"}).status_code == 200
        sender.close()
        assert len(_messages(_settled(restarted, fake_slack))) == 1
    # a new event is still answered
    slack.event(slack.message(DANA, "How is Sofia doing on ownership?", channel="D0DANA"))
    assert len(_messages(_settled(bot, fake_slack))) == 2


def test_bots_edits_and_channel_chatter_are_ignored(
    slack: SlackSender, bot: SlackBot, fake_slack: FakeSlack
) -> None:
    ignored = [
        slack.message(DANA, "How is Sofia doing?", bot_id="B0OTHER"),
        slack.message(BOT_USER_ID, "How is Sofia doing?"),  # the bot's own message
        slack.message(DANA, "How is Sofia doing?", subtype="message_changed"),
        slack.message(DANA, "How is Sofia doing?", edited={"user": DANA, "ts": "1"}),
        # a channel message that does not mention the bot
        slack.message(DANA, "How is Sofia doing?", channel="C0TEAM", channel_type="channel"),
    ]
    for payload in ignored:
        assert slack.event(payload).status_code == 200
    assert _settled(bot, fake_slack) == []


def test_an_unknown_slack_user_gets_a_polite_refusal_and_nothing_else(
    slack: SlackSender, bot: SlackBot, fake_slack: FakeSlack
) -> None:
    slack.event(slack.message(STRANGER, "How is Sofia doing on delivery?", channel="D0STRANGER"))
    calls = fake_slack.wait_for(_answered())
    assert [c.method for c in calls if c.method != "auth.test"] == ["chat.postMessage"]
    text = calls[-1].text_and_blocks()
    assert "not linked" in text
    assert "Sofia" not in text and "delivery" not in text.lower()
    assert len(_messages(_settled(bot, fake_slack))) == 1


def test_an_engineer_asking_about_a_peer_is_refused_without_details(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    slack.event(slack.message(SOFIA, "How is Michael doing on delivery?", channel="D0SOFIA"))
    (answer,) = _messages(fake_slack.wait_for(_answered()))
    assert answer.args["channel"] == "D0SOFIA"
    text = answer.text_and_blocks()
    assert "access" in text.lower() or "can't" in text.lower() or "cannot" in text.lower()
    assert "[1]" not in text and "Sources" not in text
    assert not [b for b in answer.args["blocks"] if b["type"] == "context"]


def test_a_manager_asking_in_a_channel_gets_the_answer_by_dm(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    payload = slack.message(
        DANA,
        f"<@{BOT_USER_ID}> How is Sofia doing on collaboration?",
        channel="C0PAYMENTS",
        event_type="app_mention",
    )
    slack.event(payload)
    calls = fake_slack.wait_for(_answered(2))
    opened = fake_slack.of("conversations.open")
    assert [c.args["users"] for c in opened] == [DANA]
    by_channel = {c.args["channel"]: c for c in _messages(calls)}
    dm = by_channel[f"D{DANA}"]
    assert "[1]" in dm.text_and_blocks()
    notice = by_channel["C0PAYMENTS"]
    assert notice.args["thread_ts"] == payload["event"]["ts"]
    channel_text = notice.text_and_blocks()
    assert SENT_BY_DM in channel_text
    # nothing about Sofia's performance in the channel
    assert "Sofia" not in channel_text and "[1]" not in channel_text
    assert "collaboration" not in channel_text.lower()


def test_a_slash_command_acks_ephemerally_and_follows_up_through_response_url(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    form = {
        "command": "/feedback",
        "text": "How is Sofia doing on delivery?",
        "user_id": DANA,
        "channel_id": "C0PAYMENTS",
        "channel_name": "payments",
        "team_id": "T0PERF",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "response_url": fake_slack.response_url("cmd1"),
    }
    response = slack.command(form)
    assert response.status_code == 200
    assert response.json() == {"response_type": "ephemeral", "text": WORKING}
    calls = fake_slack.wait_for(lambda calls: any(c.method == "response:cmd1" for c in calls))
    (follow_up,) = [c for c in calls if c.method == "response:cmd1"]
    assert follow_up.args["response_type"] == "ephemeral"
    assert "delivery" in follow_up.text_and_blocks().lower()
    assert "[1]" in follow_up.text_and_blocks()
    assert _messages(calls) == []  # nothing posted in the channel


def test_an_empty_slash_command_gets_help_at_once(
    slack: SlackSender, bot: SlackBot, fake_slack: FakeSlack
) -> None:
    response = slack.command({"command": "/feedback", "text": "  ", "user_id": DANA})
    assert response.json()["response_type"] == "ephemeral"
    assert "Draft my self-review" in response.json()["text"]
    assert _settled(bot, fake_slack) == []


# --- when Slack misbehaves ---------------------------------------------------------------------


def test_a_slack_api_error_reaches_the_user_and_the_log_keeps_no_text(
    slack: SlackSender, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    fake_slack.script("conversations.open", {"ok": False, "error": "missing_scope"})
    question = "How is Sofia doing on communication?"
    with caplog.at_level(logging.INFO, logger="perfagent.slack"):
        slack.event(slack.message(DANA, question, channel="C0PAYMENTS", event_type="app_mention"))
        calls = fake_slack.wait_for(_answered())
    (error,) = _messages(calls)
    assert error.method == "chat.postEphemeral"  # only the asker sees it
    assert error.args["channel"] == "C0PAYMENTS" and error.args["user"] == DANA
    assert FAILED in error.text_and_blocks()
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert failures, [r.getMessage() for r in caplog.records]
    assert all(
        question not in r.getMessage() and "Sofia" not in r.getMessage() for r in caplog.records
    )


def test_rate_limited_calls_wait_for_retry_after_and_are_delivered_once(
    slack: SlackSender, bot: SlackBot, fake_slack: FakeSlack
) -> None:
    fake_slack.script(
        "chat.postMessage",
        {"ok": False, "error": "ratelimited"},
        status=429,
        headers={"Retry-After": "1"},
    )
    slack.event(slack.message(DANA, "How is Sofia doing on growth?", channel="D0DANA"))
    calls = fake_slack.wait_for(
        lambda calls: [c.status for c in calls if c.method == "chat.postMessage"] == [429, 200]
    )
    limited, delivered = [c for c in calls if c.method == "chat.postMessage"]
    assert delivered.at - limited.at >= 0.9  # waited for Retry-After
    assert "growth" in delivered.text_and_blocks().lower()
    assert len(_messages(_settled(bot, fake_slack))) == 2
