"""Read the contract's document formats into validated `SourceDocument`s.

Formats: `.md`/`.txt` with YAML front matter, `.jsonl` (one document per line), and `.pdf`/`.docx`
with a `NAME.meta.yaml` sidecar. Anything wrong with a file (or a jsonl line) becomes a `Skipped`
with a one-line reason; it never stops the rest of the ingest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from perfagent.ingest.chunking import CHUNKER_VERSION
from perfagent.org import OrgChart

DocType = Literal[
    "weekly_report",
    "project_summary",
    "peer_feedback",
    "manager_note",
    "self_review",
    "okr_update",
    "one_on_one",
    "recognition",
]
DOC_TYPES: tuple[str, ...] = get_args(DocType)
Visibility = Literal["default", "management"]
# Bumped when the stored chunk metadata changes shape, so the next ingest rewrites old chunks.
METADATA_VERSION = "2"


def audience_key(employee_id: str, visibility: str) -> str:
    """One metadata value that says who a chunk is shown to beyond managers and HR.

    The subject may read `<id>`, never `<id>#management`. Encoding this in a single key turns an
    employee's permission filter into one equality, which Chroma evaluates far faster than the
    equivalent `employee_id == X and visibility != management` (bench/retrieval_bench.py).
    """
    return employee_id if visibility != "management" else f"{employee_id}#management"


TEXT_SUFFIXES = (".md", ".txt")
BINARY_SUFFIXES = (".pdf", ".docx")
DOCUMENT_SUFFIXES = (*TEXT_SUFFIXES, ".jsonl", *BINARY_SUFFIXES)


class DocumentFields(BaseModel):
    """The front matter / sidecar / jsonl fields every document carries."""

    model_config = ConfigDict(extra="ignore")

    employee_id: str
    author_id: str
    doc_type: DocType
    date: date
    title: str = ""
    visibility: Visibility = "default"

    @field_validator("employee_id", "author_id", "title", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return (
            "" if value is None else str(value).strip() if isinstance(value, str | int) else value
        )

    @field_validator("date", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(f"bad date '{value}' (expected YYYY-MM-DD)") from None

    @field_validator("visibility", mode="before")
    @classmethod
    def _default_visibility(cls, value: Any) -> Any:
        return "default" if value in (None, "") else value


@dataclass(frozen=True)
class SourceDocument:
    doc_id: str
    source: str  # path relative to the ingested directory (with #Ln for jsonl lines)
    source_root: str
    fields: DocumentFields
    text: str

    @property
    def content_hash(self) -> str:
        payload = json.dumps(
            [self.fields.model_dump(mode="json"), self.text, CHUNKER_VERSION, METADATA_VERSION],
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "document"
        if err["type"] == "missing":
            parts.append(f"missing field '{field}'")
        elif err["type"] == "literal_error":
            parts.append(f"{field} '{err.get('input')}' is not one of {err['ctx']['expected']}")
        else:
            parts.append(err["msg"].removeprefix("Value error, "))
    return "; ".join(parts)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


class _FieldsLoader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so a bad date gets our own clear message."""


_FieldsLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load_fields_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_FieldsLoader)


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise ValueError("no YAML front matter (the file must start with a '---' line)")
    for i, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            try:
                meta = _load_fields_yaml("\n".join(lines[1:i])) or {}
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f" at line {mark.line + 2}" if mark else ""
                raise ValueError(f"front matter is not valid YAML{where}") from None
            if not isinstance(meta, dict):
                raise ValueError("front matter is not a YAML mapping")
            return meta, "\n".join(lines[i + 1 :])
    raise ValueError("front matter is not closed by a '---' line")


def extract_binary_text(path: Path) -> str:
    """The text of a .pdf or .docx file, paragraphs separated by blank lines."""
    if path.suffix.lower() == ".pdf":
        from pypdf import PdfReader

        reader = PdfReader(str(path))
        return "\n\n".join((page.extract_text() or "").strip() for page in reader.pages)
    from docx import Document as DocxDocument

    return "\n\n".join(p.text for p in DocxDocument(str(path)).paragraphs if p.text.strip())


def sidecar_of(path: Path) -> Path | None:
    """The metadata sidecar of a .pdf/.docx file, if there is one."""
    for candidate in (path.with_name(path.name + ".meta.yaml"), path.with_suffix(".meta.yaml")):
        if candidate.is_file():
            return candidate
    return None


class DocumentReader:
    """Turns files under one root directory into validated documents."""

    def __init__(self, root: Path, org: OrgChart, *, max_file_bytes: int) -> None:
        self.root = root
        self.root_name = root.resolve().name
        self.org = org
        self.max_file_bytes = max_file_bytes

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix() if path != self.root else path.name

    def _validate(self, meta: dict[str, Any], text: str, source: str) -> SourceDocument:
        try:
            fields = DocumentFields.model_validate(meta)
        except ValidationError as exc:
            raise ValueError(_describe(exc)) from None
        for role in ("employee_id", "author_id"):
            value = getattr(fields, role)
            if value not in self.org:
                raise ValueError(f"unknown {role} '{value}' (not in the org file)")
        body = text.strip("\n")
        if not body.strip():
            raise ValueError("document has no text")
        return SourceDocument(
            doc_id=f"{self.root_name}/{source}",
            source=source,
            source_root=self.root_name,
            fields=fields,
            text=body,
        )

    def read(self, path: Path) -> Iterator[SourceDocument | Skipped]:
        source = self._relative(path)
        try:
            size = path.stat().st_size
            if size == 0:
                raise ValueError("empty file")
            if size > self.max_file_bytes:
                raise ValueError(
                    f"file too large ({size:,} bytes; the limit is "
                    f"{self.max_file_bytes:,} bytes, ingest.max_file_bytes)"
                )
            suffix = path.suffix.lower()
            if suffix == ".jsonl":
                yield from self._read_jsonl(path, source)
                return
            if suffix in BINARY_SUFFIXES:
                sidecar = sidecar_of(path)
                if sidecar is None:
                    raise ValueError(f"no sidecar {path.name}.meta.yaml with its fields")
                try:
                    meta = _load_fields_yaml(_decode(sidecar.read_bytes())) or {}
                except yaml.YAMLError as exc:
                    mark = getattr(exc, "problem_mark", None)
                    where = f" at line {mark.line + 1}" if mark else ""
                    raise ValueError(f"sidecar {sidecar.name} is not valid YAML{where}") from None
                if not isinstance(meta, dict):
                    raise ValueError(f"sidecar {sidecar.name} is not a YAML mapping")
                try:
                    text = extract_binary_text(path)
                except Exception as exc:  # pypdf/python-docx raise many types on bad files
                    raise ValueError(
                        f"cannot read {suffix[1:]} ({exc.__class__.__name__})"
                    ) from None
                if not text.strip():
                    raise ValueError(f"no extractable text in the {suffix[1:]} (scanned image?)")
            else:
                meta, text = _front_matter(_decode(path.read_bytes()))
            yield self._validate(meta, text, source)
        except (ValueError, OSError, yaml.YAMLError) as exc:
            yield Skipped(source, str(exc) or exc.__class__.__name__)

    def _read_jsonl(self, path: Path, source: str) -> Iterator[SourceDocument | Skipped]:
        text = _decode(path.read_bytes())
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{source}#L{number}"
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError("line is not a JSON object")
                body = obj.get("text")
                if not isinstance(body, str):
                    raise ValueError("missing field 'text'")
                yield self._validate(obj, body, where)
            except json.JSONDecodeError as exc:
                yield Skipped(where, f"not valid JSON ({exc.msg})")
            except ValueError as exc:
                yield Skipped(where, str(exc))


def iter_document_files(root: Path) -> tuple[list[Path], list[Path]]:
    """(document files, other files) under `root`, sorted; sidecars and hidden files excluded."""
    if root.is_file():
        return ([root], []) if root.suffix.lower() in DOCUMENT_SUFFIXES else ([], [root])
    documents: list[Path] = []
    others: list[Path] = []
    for path in sorted(root.rglob("*")):
        rel_parts = path.relative_to(root).parts
        if not path.is_file() or any(p.startswith(".") for p in rel_parts):
            continue
        if path.name.endswith(".meta.yaml"):
            continue
        (documents if path.suffix.lower() in DOCUMENT_SUFFIXES else others).append(path)
    return documents, others


def read_documents(
    root: Path, org: OrgChart, *, max_file_bytes: int
) -> Iterator[SourceDocument | Skipped]:
    """Every document (or skip reason) under `root`, in a stable order."""
    reader = DocumentReader(
        root if root.is_dir() else root.parent, org, max_file_bytes=max_file_bytes
    )
    for path in iter_document_files(root)[0]:
        yield from reader.read(path)
