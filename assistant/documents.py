"""Documents: read files of any supported format into text, and their metadata from the manifest.

A reader per format turns a file into plain text lines; `passages.py` then finds the structure.
Adding a format is one function in READERS.
"""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST_NAME = "manifest.json"
KINDS = ("summary_record", "general_comment", "concept_note", "document")


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
    source: str  # file name inside its corpus folder
    kind: str = "document"  # one of KINDS
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
    folder: Path | None = field(default=None, repr=False, compare=False)  # the corpus folder the file is in
    dropped: dict[str, int] = field(default_factory=dict, repr=False, compare=False)  # lines the parser left out

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


# ---- metadata: the manifest of each corpus folder, checked entry by entry ----

# The type each manifest field must have; None is allowed for every field but `file`.
FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "file": str,
    "id": str,
    "symbol": str,
    "kind": str,
    "title": str,
    "body": str,
    "session": str,
    "meeting": int,
    "date": str,
    "place": str,
    "chair": str,
    "issued": str,
    "original_language": str,
    "description": str,
    "header_missing": bool,
}
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")  # ids go into URLs and index files


class ManifestError(ValueError):
    """One manifest entry that cannot be used; the message names the entry and the field."""


def load_manifest(corpus_dir: Path) -> tuple[list[Document], list[Problem]]:
    """Documents named by the folder's manifest.json, and any file in the folder it does not name."""
    manifest_path = corpus_dir / MANIFEST_NAME
    entries, problems = read_manifest_entries(manifest_path)
    documents: list[Document] = []
    for number, entry in enumerate(entries, start=1):
        try:
            documents.append(document_from_entry(entry, corpus_dir, f"entry {number}"))
        except ManifestError as err:
            problems.append(Problem(str(manifest_path), None, str(err)))
    named = {d.source for d in documents} | {
        e["file"] for e in entries if isinstance(e, dict) and isinstance(e.get("file"), str)
    }
    for path in sorted(corpus_dir.iterdir()):
        if path.name == MANIFEST_NAME or path.name in named or path.name.startswith("."):
            continue
        if path.suffix.lower() not in READERS or path.stem.upper() == "README":  # a folder's README describes it
            continue
        if not path.is_file():
            problems.append(Problem(path.name, None, f"not a regular file ({file_type(path)}); skipped", "warning"))
            continue
        problems.append(
            Problem(path.name, None, f"not in {MANIFEST_NAME}; loaded with metadata read from its text", "warning")
        )
        documents.append(Document(id=slug(path.stem), source=path.name, folder=corpus_dir))
    return documents, problems


def read_manifest_entries(manifest_path: Path) -> tuple[list, list[Problem]]:
    """The manifest's list of entries; a manifest that cannot be read is one error and no entries."""
    where = str(manifest_path)
    if not manifest_path.exists():
        return [], []
    if not manifest_path.is_file():
        return [], [Problem(where, None, f"is not a regular file ({file_type(manifest_path)}); replace it with JSON")]
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        return [], [Problem(where, None, f"unreadable manifest ({err}); fix the JSON")]
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        found = type(data.get("documents")).__name__ if isinstance(data, dict) else type(data).__name__
        message = f'field "documents" must be a list of entries, not {found}; write {{"documents": [{{"file": ...}}]}}'
        return [], [Problem(where, None, message)]
    return data["documents"], []


def document_from_entry(entry: object, corpus_dir: Path, name: str = "entry") -> Document:
    """A Document from one manifest entry; raises ManifestError naming the entry and the field."""
    if not isinstance(entry, dict):
        raise ManifestError(f'{name} must be an object with at least a "file", not {type(entry).__name__}')
    if "file" not in entry:
        raise ManifestError(f'{name} has no "file"; name the document\'s file in its corpus folder')
    label = f"{name} ({entry['file']!r})" if isinstance(entry["file"], str) else name
    for key, expected in FIELD_TYPES.items():
        value = entry.get(key)
        if value is None and key != "file":
            continue
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            wanted = expected.__name__ if isinstance(expected, type) else "/".join(t.__name__ for t in expected)
            raise ManifestError(f'{label}: field "{key}" must be a {wanted}, not {type(value).__name__} ({value!r})')
    check_file_inside(entry["file"], corpus_dir, label)
    if entry.get("kind") is not None and entry["kind"] not in KINDS:
        raise ManifestError(f'{label}: field "kind" is {entry["kind"]!r}; use one of {", ".join(KINDS)}')
    if entry.get("id") is not None and not SAFE_ID.match(entry["id"]):
        raise ManifestError(f'{label}: field "id" {entry["id"]!r} may hold only letters, digits, ".", "_" and "-"')
    known = {f for f in FIELD_TYPES if f != "file"}
    values = {k: v for k, v in entry.items() if k in known and v is not None}
    extra = {k: v for k, v in entry.items() if k not in FIELD_TYPES}
    values.setdefault("id", slug(entry.get("symbol") or Path(entry["file"]).stem))
    return Document(source=entry["file"], extra=extra, folder=corpus_dir, **values)


def check_file_inside(file: str, corpus_dir: Path, label: str) -> None:
    """A manifest names files inside its own folder only: no absolute paths, no way out with '..' or a link."""
    path = Path(file)
    if not file.strip() or "\x00" in file or path.is_absolute() or ".." in path.parts:
        raise ManifestError(f'{label}: field "file" must be a path inside {corpus_dir}, not {file!r}')
    if not (corpus_dir / path).resolve().is_relative_to(corpus_dir.resolve()):
        raise ManifestError(f'{label}: field "file" {file!r} leads outside {corpus_dir} (through a link)')


def file_type(path: Path) -> str:
    """'a folder', 'a FIFO', ...: what a path that is not a regular file is."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return "unreadable"
    kinds = [(stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")]
    kinds += [(stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")]
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def slug(name: str) -> str:
    """A URL- and file-safe id: 'CMW/C/SR.506' -> 'CMW-C-SR.506'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "document"
