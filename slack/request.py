"""What Slack sent, as one typed request: an Events API callback (an app mention or a direct
message) or a slash command. Parsed once, after the signature check; handlers never read the raw
payload."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs

# "<@U07BOT123> how is Sofia doing?": the mention of the bot is not part of the question
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
# Slack escapes &, < and > in message text
_ENTITIES = {"&lt;": "<", "&gt;": ">", "&amp;": "&"}


def clean_text(text: str) -> str:
    without = _MENTION.sub(" ", text or "")
    for entity, char in _ENTITIES.items():
        without = without.replace(entity, char)
    return " ".join(without.split())


@dataclass(frozen=True)
class SlackRequest:
    """One thing to answer. `channel_type` is "im" for a direct message with the bot; anything
    else (a channel, a private channel, a group DM) may be read by other people."""

    kind: Literal["event", "command"]
    user_id: str
    text: str
    channel_id: str
    channel_type: str
    event_id: str = ""
    event_type: str = ""
    subtype: str = ""
    bot_id: str = ""
    ts: str = ""
    thread_ts: str = ""
    team_id: str = ""
    response_url: str = ""
    command: str = ""
    edited: bool = False
    bot_user_id: str = ""  # the bot's own user id, as the delivery names it

    @property
    def private(self) -> bool:
        """Whether only the asker (and the bot) can read the conversation."""
        return self.channel_type == "im"

    @property
    def reply_thread(self) -> str:
        """The thread to answer in: the message's own thread, or a new one under it."""
        return self.thread_ts or self.ts

    @property
    def conversation(self) -> str:
        """The agent conversation this message continues: one per asker and Slack thread, so a
        follow-up in the thread ("and on quality?") keeps the person and period."""
        if self.kind == "command" or not self.reply_thread:
            return ""
        return f"slack:{self.team_id}:{self.channel_id}:{self.reply_thread}:{self.user_id}"


def from_event_callback(payload: dict[str, Any]) -> SlackRequest:
    """An `event_callback` envelope's event (`app_mention`, `message`)."""
    event = payload.get("event") or {}
    event_type = str(event.get("type", ""))
    channel_type = str(event.get("channel_type", ""))
    if event_type == "app_mention" and not channel_type:
        # app_mention events carry no channel_type; a mention is never in a 1:1 DM with the bot
        channel_type = "channel"
    # the installation the event was delivered for: its user is the bot itself
    first = (payload.get("authorizations") or [{}])[0]
    bot_user_id = str(first.get("user_id", "")) if isinstance(first, dict) else ""
    return SlackRequest(
        kind="event",
        user_id=str(event.get("user", "")),
        text=clean_text(str(event.get("text", ""))),
        channel_id=str(event.get("channel", "")),
        channel_type=channel_type,
        event_id=str(payload.get("event_id", "")),
        event_type=event_type,
        subtype=str(event.get("subtype", "")),
        bot_id=str(event.get("bot_id", "")),
        ts=str(event.get("ts", "")),
        thread_ts=str(event.get("thread_ts", "")),
        team_id=str(payload.get("team_id", "")),
        edited="edited" in event,
        bot_user_id=bot_user_id,
    )


def from_command_form(body: bytes) -> SlackRequest:
    """A slash command (`application/x-www-form-urlencoded`)."""
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
    channel_name = form.get("channel_name", "")
    return SlackRequest(
        kind="command",
        user_id=form.get("user_id", ""),
        text=clean_text(form.get("text", "")),
        channel_id=form.get("channel_id", ""),
        channel_type="im" if channel_name == "directmessage" else "channel",
        team_id=form.get("team_id", ""),
        response_url=form.get("response_url", ""),
        command=form.get("command", ""),
        # a command has no event id; its trigger id is unique per invocation
        event_id=f"command:{form.get('trigger_id', '')}" if form.get("trigger_id") else "",
    )
