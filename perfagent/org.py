"""The organisation: people, their roles and the management tree (from org.csv)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from perfagent.errors import BadInputError

Role = Literal["employee", "manager", "hr"]
ROLES: tuple[Role, ...] = ("employee", "manager", "hr")
REQUIRED_COLUMNS = ("employee_id", "name", "manager_id", "role")
OPTIONAL_COLUMNS = ("email", "title", "team", "slack_user_id")


@dataclass(frozen=True)
class Person:
    employee_id: str
    name: str
    role: Role
    manager_id: str | None = None
    email: str = ""
    title: str = ""
    team: str = ""
    slack_user_id: str = ""

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name else self.employee_id


@dataclass
class OrgChart:
    """People by id, with the reporting tree. Immutable once built."""

    people: dict[str, Person]
    _reports: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        reports: dict[str, list[str]] = {pid: [] for pid in self.people}
        for person in self.people.values():
            if person.manager_id:
                reports[person.manager_id].append(person.employee_id)
        self._reports = {k: sorted(v) for k, v in reports.items()}

    def __contains__(self, employee_id: object) -> bool:
        return employee_id in self.people

    def __iter__(self) -> Iterator[Person]:
        return iter(self.people.values())

    def __len__(self) -> int:
        return len(self.people)

    def get(self, employee_id: str) -> Person:
        try:
            return self.people[employee_id]
        except KeyError:
            raise BadInputError(f"unknown employee id '{employee_id}'") from None

    def direct_reports(self, employee_id: str) -> list[str]:
        return list(self._reports.get(employee_id, []))

    def subtree(self, employee_id: str) -> set[str]:
        """Everyone below `employee_id` in the tree (transitively), not including them."""
        below: set[str] = set()
        stack = list(self._reports.get(employee_id, []))
        while stack:
            pid = stack.pop()
            if pid not in below:
                below.add(pid)
                stack.extend(self._reports.get(pid, []))
        return below

    def chain_of_command(self, employee_id: str) -> list[str]:
        """Managers above `employee_id`, nearest first."""
        chain: list[str] = []
        current = self.people[employee_id].manager_id
        while current:
            chain.append(current)
            current = self.people[current].manager_id
        return chain

    @classmethod
    def from_rows(cls, rows: Iterable[dict[str, str]], source: str = "org file") -> OrgChart:
        people: dict[str, Person] = {}
        for line, row in enumerate(rows, start=2):
            pid = (row.get("employee_id") or "").strip()
            name = (row.get("name") or "").strip()
            role = (row.get("role") or "").strip().lower()
            if not pid:
                raise BadInputError(f"{source} line {line}: empty employee_id")
            if not name:
                raise BadInputError(f"{source} line {line}: empty name for {pid}")
            if pid in people:
                raise BadInputError(f"{source} line {line}: duplicate employee_id {pid}")
            if role not in ROLES:
                raise BadInputError(
                    f"{source} line {line}: role '{role}' for {pid} is not one of {', '.join(ROLES)}"
                )
            people[pid] = Person(
                employee_id=pid,
                name=name,
                role=role,  # type: ignore[arg-type]  # checked against ROLES above
                manager_id=(row.get("manager_id") or "").strip() or None,
                email=(row.get("email") or "").strip(),
                title=(row.get("title") or "").strip(),
                team=(row.get("team") or "").strip(),
                slack_user_id=(row.get("slack_user_id") or "").strip(),
            )
        if not people:
            raise BadInputError(f"{source}: no people")
        for person in people.values():
            if person.manager_id and person.manager_id not in people:
                raise BadInputError(
                    f"{source}: manager_id {person.manager_id} of {person.employee_id} is not a person"
                )
        _check_acyclic(people, source)
        return cls(people)

    @classmethod
    def from_csv_text(cls, text: str, source: str = "org file") -> OrgChart:
        reader = csv.DictReader(io.StringIO(text))
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise BadInputError(f"{source}: missing column(s) {', '.join(missing)}")
        return cls.from_rows(reader, source)

    @classmethod
    def load(cls, path: Path) -> OrgChart:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise BadInputError(f"{path}: org file not found") from None
        except UnicodeDecodeError:
            raise BadInputError(f"{path}: org file is not valid UTF-8") from None
        return cls.from_csv_text(text, source=str(path))


def _check_acyclic(people: dict[str, Person], source: str) -> None:
    for start in people:
        seen = {start}
        current = people[start].manager_id
        while current:
            if current in seen:
                raise BadInputError(f"{source}: management cycle through {start}")
            seen.add(current)
            current = people[current].manager_id
