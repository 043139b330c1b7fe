"""Errors users see. Each carries a one-line message and the CLI exit code it maps to."""

from __future__ import annotations


class PerfagentError(Exception):
    """Base class: a problem the user can act on, described in one line."""

    exit_code: int = 2


class BadInputError(PerfagentError):
    """Invalid arguments, files or settings (exit 2)."""

    exit_code = 2


class PermissionRefusal(PerfagentError):
    """The viewer may not see what was asked for (exit 3). Reveals nothing about the data."""

    exit_code = 3


class StoreBusyError(PerfagentError):
    """Another process owns the embedded Chroma directory."""

    exit_code = 2
