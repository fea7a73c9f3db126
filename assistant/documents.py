"""Documents: read files of any supported format into text, and their metadata from the manifest.

A reader per format turns a file into plain text lines; `passages.py` then finds the structure.
Adding a format is one function in READERS.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST_NAME = "manifest.json"


class DocumentError(Exception):
    """A document that cannot be read; the message names the file and says what to do."""


@dataclass(frozen=True)
class Problem:
    """Something wrong in the corpus, reported rather than silently resolved."""

    source: str
    line: int | None
    message: str
    severity: str = "error"  # error: content lost or doubtful; warning: resolved, but worth a look

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{self.severity}: {where}: {self.message}"


@dataclass
class Document:
    """One record or document, with the metadata a citation needs."""

    id: str  # URL-safe stable id, e.g. "CMW-C-SR.506"
    source: str  # file name inside the corpus folder
    kind: str = "document"  # summary_record | concept_note | document
    symbol: str | None = None  # UN document symbol, e.g. "CMW/C/SR.506"
    title: str = ""
    body: str | None = None
    session: str | None = None
    meeting: int | None = None
    date: str | None = None  # ISO 8601, possibly reduced precision ("2013-09", "2022")
    place: str | None = None
    chair: str | None = None
    issued: str | None = None
    original_language: str | None = None
    description: str | None = None
    header_missing: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def cite_as(self) -> str:
        """What a citation names: the symbol where there is one, else the stable id."""
        return self.symbol or self.id

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "document": self.cite_as,
            "symbol": self.symbol,
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
            "session": self.session,
            "meeting": self.meeting,
            "date": self.date,
            "place": self.place,
            "chair": self.chair,
            "issued": self.issued,
            "original_language": self.original_language,
            "description": self.description,
            "source": self.source,
        }


# ---- readers: one per format, each returns the document's text ----


def read_plain(path: Path) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise DocumentError(f"{path.name}: the file is empty; add its text or remove it from the corpus")
    if b"\x00" in data[:4096]:
        raise DocumentError(f"{path.name}: looks binary (NUL bytes), not text; convert it to .txt, .md, .docx or .pdf")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DocumentError(
            f"{path.name}: line {line}: not valid UTF-8 (byte {data[err.start]:#04x}); re-save the file as UTF-8"
        ) from err


def read_docx(path: Path) -> str:
    try:
        import docx  # python-docx, an optional extra: pip install 'assistant[formats]'
    except ImportError as err:
        raise DocumentError(f"{path.name}: reading .docx needs python-docx: pip install python-docx") from err
    try:
        return "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    except Exception as err:  # python-docx raises several types for damaged files
        raise DocumentError(f"{path.name}: not a readable .docx file ({err})") from err


def read_pdf(path: Path) -> str:
    try:
        import pypdf  # optional extra: pip install 'assistant[formats]'
    except ImportError as err:
        raise DocumentError(f"{path.name}: reading .pdf needs pypdf: pip install pypdf") from err
    try:
        return "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(str(path)).pages)
    except Exception as err:
        raise DocumentError(f"{path.name}: not a readable .pdf file ({err})") from err


READERS: dict[str, Callable[[Path], str]] = {
    ".txt": read_plain,
    ".md": read_plain,
    ".docx": read_docx,
    ".pdf": read_pdf,
}


def read_text(path: Path) -> str:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        supported = ", ".join(sorted(READERS))
        raise DocumentError(f"{path.name}: unsupported format {path.suffix!r}; supported: {supported}")
    text = reader(path)
    if not text.strip():
        raise DocumentError(f"{path.name}: no text could be read from it")
    return text


# ---- metadata ----


def load_manifest(corpus_dir: Path) -> tuple[list[Document], list[Problem]]:
    """Documents named by corpus/manifest.json, and any file in the folder it does not name."""
    problems: list[Problem] = []
    entries: list[dict] = []
    manifest_path = corpus_dir / MANIFEST_NAME
    if manifest_path.exists():
        try:
            entries = json.loads(manifest_path.read_text(encoding="utf-8"))["documents"]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            problems.append(Problem(MANIFEST_NAME, None, f"unreadable manifest ({err}); fix the JSON"))
    documents = []
    for entry in entries:
        if not isinstance(entry, dict) or "file" not in entry:
            problems.append(Problem(MANIFEST_NAME, None, f"entry without a 'file': {entry!r}"))
            continue
        documents.append(document_from_entry(entry))
    named = {d.source for d in documents}
    for path in sorted(corpus_dir.iterdir()) if corpus_dir.is_dir() else []:
        if path.name == MANIFEST_NAME or path.name in named or path.name.startswith("."):
            continue
        if path.suffix.lower() in READERS:
            problems.append(
                Problem(path.name, None, f"not in {MANIFEST_NAME}; loaded with metadata read from its text", "warning")
            )
            documents.append(Document(id=slug(path.stem), source=path.name))
    return documents, problems


def document_from_entry(entry: dict) -> Document:
    known = {f for f in Document.__dataclass_fields__ if f not in ("extra", "source")}
    values = {k: v for k, v in entry.items() if k in known}
    extra = {k: v for k, v in entry.items() if k not in known and k != "file"}
    values.setdefault("id", slug(entry.get("symbol") or Path(entry["file"]).stem))
    return Document(source=entry["file"], extra=extra, **values)


def slug(name: str) -> str:
    """A URL- and file-safe id: 'CMW/C/SR.506' -> 'CMW-C-SR.506'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "document"
