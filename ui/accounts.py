"""Who is signed in to the web UI: passwords in a users file, a company proxy's header, or the
demo organisation's shared demo password.

The identity decides every right: the UI turns it into a `Viewer` and the retrieval layer
filters by it. A sign-in name is an employee id (any case) or the person's email from the org
file. Passwords are stored as scrypt hashes with a per-user salt, never in clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from perfagent.errors import BadInputError
from perfagent.org import OrgChart, Person

MIN_PASSWORD_CHARS = 8
# scrypt cost: ~50 ms a check on one core, enough to make guessing slow, small for sign-in.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """`scrypt$n$r$p$salt$hash`, salt and hash in URL-safe base64."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    encode = base64.urlsafe_b64encode
    return (
        f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}$"
        f"{encode(salt).decode()}${encode(digest).decode()}"
    )


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.urlsafe_b64decode(digest)
        got = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.urlsafe_b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


class UserStore:
    """The users file (`<home>/users.json`): employee id -> password hash. An admin manages it
    with `perfagent users add/remove/list`; the server reads it at each sign-in, so a change
    needs no restart."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, str]:
        if not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise BadInputError(f"{self.path}: not a readable users file ({exc})") from None
        users = data.get("users") if isinstance(data, dict) else None
        if not isinstance(users, dict):
            raise BadInputError(f'{self.path}: not a users file (no "users" object)')
        return {str(k): str(v) for k, v in users.items()}

    def _write(self, users: Mapping[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"users": dict(sorted(users.items()))}, indent=2) + "\n")
        os.chmod(tmp, 0o600)  # hashes only, but still nobody else's business
        tmp.replace(self.path)

    def ids(self) -> list[str]:
        return sorted(self._read())

    def set_password(self, employee_id: str, password: str) -> None:
        if len(password) < MIN_PASSWORD_CHARS:
            raise BadInputError(f"the password is shorter than {MIN_PASSWORD_CHARS} characters")
        users = self._read()
        users[employee_id] = hash_password(password)
        self._write(users)

    def remove(self, employee_id: str) -> bool:
        users = self._read()
        if employee_id not in users:
            return False
        del users[employee_id]
        self._write(users)
        return True

    def verify(self, employee_id: str, password: str) -> bool:
        stored = self._read().get(employee_id)
        return stored is not None and password_matches(password, stored)


@dataclass(frozen=True)
class DemoAccount:
    employee_id: str
    name: str
    role: str
    title: str


def find_person(org: OrgChart, username: str) -> Person | None:
    """The person a sign-in name means: an employee id (any case) or an email."""
    name = username.strip()
    if not name:
        return None
    folded = name.casefold()
    for person in org:
        if person.employee_id.casefold() == folded:
            return person
        if person.email and person.email.casefold() == folded:
            return person
    return None


class SignIn:
    """Checks a sign-in against the users file and, in demo mode, the shared demo password."""

    def __init__(
        self,
        org: OrgChart,
        users: UserStore | None,
        *,
        demo_password: str | None = None,
    ) -> None:
        self.org = org
        self.users = users
        self.demo_password = demo_password

    @property
    def demo(self) -> bool:
        return self.demo_password is not None

    def check(self, username: str, password: str) -> bool:
        """Gradio's `auth`: whether these credentials sign someone in."""
        person = find_person(self.org, username)
        if person is None or not password:
            return False
        if self.users is not None and self.users.verify(person.employee_id, password):
            return True
        return self.demo_password is not None and hmac.compare_digest(
            password.encode("utf-8"), self.demo_password.encode("utf-8")
        )

    def person(self, username: str | None) -> Person | None:
        """The signed-in person behind a session's user name (None: nobody)."""
        return find_person(self.org, username) if username else None

    def demo_accounts(self) -> list[DemoAccount]:
        """An HR partner, a manager and an individual contributor of the org, for the start-up
        message: the first of each by id."""
        picks: list[DemoAccount] = []
        people = sorted(self.org, key=lambda p: p.employee_id)
        managers = {p.manager_id for p in people if p.manager_id}
        for wanted in ("hr", "manager", "employee"):
            for person in people:
                if wanted == "hr":
                    fits = person.role == "hr"
                elif wanted == "manager":
                    fits = (
                        person.role != "hr"
                        and person.employee_id in managers
                        and bool(person.manager_id)
                    )
                else:
                    fits = person.role == "employee" and person.employee_id not in managers
                if fits:
                    label = {"hr": "HR partner", "manager": "manager", "employee": "engineer"}
                    picks.append(
                        DemoAccount(person.employee_id, person.name, label[wanted], person.title)
                    )
                    break
        return picks


def header_identity(header: str, org: OrgChart) -> object:
    """Gradio's `auth_dependency` for a company's SSO proxy: the header's value (an employee id
    or email) is the user, or None (not signed in). Only safe behind a proxy that sets the header
    itself and strips it from clients' requests."""
    from fastapi import Request

    def identity(request: Request) -> str | None:
        value = request.headers.get(header, "").strip()
        return value if value and find_person(org, value) is not None else None

    return identity
