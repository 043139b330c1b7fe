"""An advisory lock on the embedded Chroma directory.

Chroma's PersistentClient is not process-safe, so one process may write at a time: writers take
the lock exclusively, readers share it, and a second writer (or a reader beside a writer) fails
at once with a message naming the holder instead of corrupting the store.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from typing import ClassVar

from perfagent.errors import StoreBusyError


class DirectoryLock:
    """One lock per directory per process (flock is per open file, so the process shares one)."""

    _held: ClassVar[dict[Path, DirectoryLock]] = {}
    _guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.exclusive = False
        directory.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(directory / "perfagent.lock", os.O_RDWR | os.O_CREAT, 0o644)
        self._owner_file = directory / "perfagent.lock.owner"

    @classmethod
    def acquire(cls, directory: Path, *, exclusive: bool, purpose: str) -> DirectoryLock:
        key = directory.resolve()
        with cls._guard:
            lock = cls._held.get(key)
            if lock is None:
                lock = cls(key)
                lock._take(exclusive=exclusive, purpose=purpose)
                cls._held[key] = lock
            elif exclusive and not lock.exclusive:
                lock._take(exclusive=True, purpose=purpose)
            return lock

    def _take(self, *, exclusive: bool, purpose: str) -> None:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        try:
            fcntl.flock(self._fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._owner_file.read_text().strip() if self._owner_file.exists() else "?"
            raise StoreBusyError(
                f"the store at {self.directory} is in use by another process ({holder}); "
                "wait for it to finish, or run a Chroma server and set PERFAGENT_CHROMA_URL"
            ) from None
        self.exclusive = exclusive
        if exclusive:
            self._owner_file.write_text(f"pid {os.getpid()}, {purpose}\n")

    @classmethod
    def release_all(cls) -> None:
        """Drop every lock this process holds (tests and clean shutdown)."""
        with cls._guard:
            for lock in cls._held.values():
                fcntl.flock(lock._fd, fcntl.LOCK_UN)
                os.close(lock._fd)
            cls._held.clear()
