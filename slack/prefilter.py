"""Which Slack events perfagent answers: a person's app mention or direct message, once.

Bots (the bot itself included) and edits are ignored, so the bot never answers itself or a
message twice; a delivery Slack retries (`X-Slack-Retry-Num`, same `event_id`) is claimed in a
small SQLite table, so it is processed once, also across a restart.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from perfagent.slack.request import SlackRequest

# subtypes of a message event that are not a person writing something new
_IGNORED_SUBTYPES = frozenset(
    {
        "bot_message",
        "message_changed",
        "message_deleted",
        "message_replied",
        "channel_join",
        "channel_leave",
        "thread_broadcast",
    }
)
# Slack retries a delivery for about an hour; claims are kept a day
KEEP_SECONDS = 24 * 3600


def skip_reason(request: SlackRequest, bot_user_id: str = "") -> str | None:
    """Why this event is not answered (None: answer it). The bot's own user id is the
    delivery's (`authorizations`) unless given."""
    bot_user_id = bot_user_id or request.bot_user_id
    if request.kind == "command":
        return None if request.user_id else "no user"
    if request.event_type not in ("app_mention", "message"):
        return f"event type {request.event_type or '?'}"
    if request.bot_id or request.subtype in _IGNORED_SUBTYPES:
        return "a bot or an edit"
    if request.edited:
        return "an edit"
    if bot_user_id and request.user_id == bot_user_id:
        return "the bot's own message"
    if not request.user_id:
        return "no user"
    if request.event_type == "message" and not request.private:
        # channel messages arrive as app_mention when they name the bot; the rest is not for us
        return "a channel message without a mention"
    return None


class ProcessedEvents:
    """Event ids already taken on, in `<home>/slack-events.sqlite`."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS processed (event_id TEXT PRIMARY KEY, claimed REAL)"
        )

    def claim(self, event_id: str) -> bool:
        """True for the first caller with this id, False for every later one."""
        if not event_id:
            return True  # nothing to deduplicate by
        now = time.time()
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO processed (event_id, claimed) VALUES (?, ?)",
                (event_id, now),
            )
            if cursor.rowcount and int(now) % 97 == 0:  # now and then, forget old claims
                self._db.execute("DELETE FROM processed WHERE claimed < ?", (now - KEEP_SECONDS,))
            return cursor.rowcount == 1

    def close(self) -> None:
        with self._lock:
            self._db.close()
