"""Who may see what (contract section 2), as Chroma `where` filters.

The filter is part of the query Chroma runs, so a document the viewer may not see is never a
candidate: it cannot appear in results, count towards `k`, or leak through scores. The viewer is
the signed-in identity; nothing a user types or a model writes reaches this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from perfagent.errors import PermissionRefusal
from perfagent.ingest.documents import audience_key
from perfagent.org import OrgChart, Person
from perfagent.periods import Period
from perfagent.store.chroma_store import Where

PEER_LABEL = "a peer"


@dataclass(frozen=True)
class Viewer:
    """A signed-in person and the subjects whose documents they may read."""

    person: Person
    # Subjects whose every document is visible; None means everyone (HR).
    managed: frozenset[str] | None

    @property
    def employee_id(self) -> str:
        return self.person.employee_id

    @property
    def is_hr(self) -> bool:
        return self.managed is None

    def may_see_subject(self, employee_id: str) -> bool:
        """Whether any document about `employee_id` can be visible to this viewer."""
        return self.is_hr or employee_id == self.employee_id or employee_id in (self.managed or ())

    def may_see(self, metadata: dict[str, object]) -> bool:
        """The same rule as `where_filter`, for one chunk's metadata (used by tests and checks)."""
        subject = str(metadata.get("employee_id"))
        if self.is_hr or subject in (self.managed or ()):
            return True
        return subject == self.employee_id and metadata.get("visibility") != "management"

    def author_label(self, metadata: dict[str, object], org: OrgChart) -> str:
        """The author as this viewer may see them: peers stay anonymous to their subject."""
        if (
            metadata.get("doc_type") == "peer_feedback"
            and metadata.get("employee_id") == self.employee_id
            and metadata.get("author_id") != self.employee_id
        ):
            return PEER_LABEL
        author_id = str(metadata.get("author_id"))
        return org.people[author_id].name if author_id in org else author_id


class AccessPolicy:
    """Computes viewers from the org tree and turns their rights into query filters."""

    def __init__(self, org: OrgChart) -> None:
        self.org = org

    def viewer(self, employee_id: str) -> Viewer:
        person = self.org.get(employee_id)
        if person.role == "hr":
            return Viewer(person, None)
        # Managers see their whole subtree; for anyone else the subtree is empty anyway.
        return Viewer(person, frozenset(self.org.subtree(employee_id)))

    def check_subject(self, viewer: Viewer, employee_id: str) -> None:
        """Refuse, revealing nothing, when the viewer may not see `employee_id` at all."""
        if not viewer.may_see_subject(employee_id):
            raise PermissionRefusal(f"you may not see documents about {employee_id}")

    def where_filter(
        self,
        viewer: Viewer,
        *,
        employee_id: str | None = None,
        doc_types: Sequence[str] | None = None,
        period: Period | None = None,
    ) -> Where | None:
        clauses: list[Where] = []
        if not viewer.is_hr:
            own: Where = {"audience": audience_key(viewer.employee_id, "default")}
            managed = sorted(viewer.managed or ())
            clauses.append({"$or": [own, {"employee_id": {"$in": managed}}]} if managed else own)
        if employee_id is not None:
            self.check_subject(viewer, employee_id)
            clauses.append({"employee_id": employee_id})
        if doc_types:
            clauses.append({"doc_type": {"$in": list(doc_types)}})
        if period is not None:
            clauses.append({"date_int": {"$gte": period.start_int}})
            clauses.append({"date_int": {"$lte": period.end_int}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}
