"""The corpus: every document of the corpus folders read, parsed and checked, one bad file never stopping the rest."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.documents import Document, DocumentError, Problem, file_type, load_manifest, read_text
from assistant.passages import Passage, parse_document


@dataclass
class Corpus:
    documents: list[Document]
    passages: list[Passage]
    problems: list[Problem] = field(default_factory=list)

    def document(self, doc_id: str) -> Document | None:
        return next((d for d in self.documents if d.id == doc_id or d.cite_as == doc_id), None)

    def passages_of(self, doc_id: str) -> list[Passage]:
        doc = self.document(doc_id)
        return [p for p in self.passages if doc and p.doc_id == doc.id]

    def passage(self, doc_id: str, label: str) -> Passage | None:
        return next((p for p in self.passages_of(doc_id) if label in (p.paragraph, p.anchor)), None)

    @property
    def content_hash(self) -> str:
        """Changes whenever any passage or its citation metadata changes: the index is stamped with it."""
        digest = hashlib.sha256()
        for passage in self.passages:
            digest.update(json.dumps(passage.to_dict(), sort_keys=True, ensure_ascii=False).encode())
        return digest.hexdigest()[:16]


def load_corpus(corpus_dirs: Path | Sequence[Path]) -> Corpus:
    """Every document of one or more corpus folders; each folder has its own manifest.json."""
    folders = [corpus_dirs] if isinstance(corpus_dirs, Path) else list(corpus_dirs)
    if not folders:
        raise DocumentError("no corpus folder given; set ASSISTANT_CORPUS_DIR or --corpus")
    for folder in folders:
        if not folder.is_dir():
            raise DocumentError(f"corpus folder {folder} does not exist; set ASSISTANT_CORPUS_DIR or --corpus")
    documents: list[Document] = []
    problems: list[Problem] = []
    for folder in folders:
        found, folder_problems = load_manifest(folder)
        documents += found
        problems += folder_problems
    documents, duplicates = unique_ids(documents)
    problems += duplicates
    loaded: list[Document] = []
    passages: list[Passage] = []
    for doc in documents:
        found = load_document(doc, problems)
        if found:
            loaded.append(doc)
            passages += found
    return Corpus(loaded, passages, problems)


def unique_ids(documents: list[Document]) -> tuple[list[Document], list[Problem]]:
    """The first document of each id (and of each file); a second one is an error naming both, and is left out."""
    first: dict[str, Document] = {}
    files: set[tuple[Path | None, str]] = set()
    kept: list[Document] = []
    problems: list[Problem] = []
    for doc in documents:
        where = f"{doc.folder}/{doc.source}" if doc.folder else doc.source
        if (doc.folder, doc.source) in files:
            problems.append(Problem(where, None, "is named twice in its manifest.json; remove one entry"))
            continue
        if doc.id in first:
            other = first[doc.id]
            earlier = f"{other.folder}/{other.source}" if other.folder else other.source
            message = f'document id {doc.id!r} is also the id of {earlier}; give each entry its own "id" or "symbol"'
            problems.append(Problem(where, None, message))
            continue
        first[doc.id] = doc
        files.add((doc.folder, doc.source))
        kept.append(doc)
    return kept, problems


def load_document(doc: Document, problems: list[Problem]) -> list[Passage]:
    """One document's passages; what goes wrong is added to problems, and no exception escapes for a bad file."""
    path = (doc.folder or Path(".")) / doc.source
    if not path.exists():
        problems.append(Problem(doc.source, None, "named in manifest.json but missing from the corpus folder"))
        return []
    if not path.is_file():  # a folder named x.txt, or a FIFO that would block a read forever
        problems.append(Problem(doc.source, None, f"is {file_type(path)}, not a regular file; replace or remove it"))
        return []
    try:
        text = read_text(path)
    except DocumentError as err:
        problems.append(Problem(doc.source, None, str(err).removeprefix(f"{path.name}: ")))
        return []
    except OSError as err:
        problems.append(Problem(doc.source, None, f"cannot be read ({err.strerror or err})"))
        return []
    found, doc_problems = parse_document(text, doc)
    problems += doc_problems
    if not found:
        problems.append(Problem(doc.source, None, "no passages found; is this a treaty-body document?"))
    return found


def structure_report(corpus: Corpus) -> list[str]:
    """One line per document: what the parser found (paragraph range, gaps, sections, footnotes) and what it dropped."""
    lines = []
    for doc in corpus.documents:
        passages = corpus.passages_of(doc.id)
        numbers = sorted({p.number for p in passages if p.kind == "paragraph" and p.number is not None})
        parts = [f"{doc.cite_as} ({doc.source}, {doc.kind})"]
        if numbers:
            gaps = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
            inferred = " inferred" if any(p.inferred for p in passages if p.kind == "paragraph") else ""
            parts.append(f"paragraphs {numbers[0]}-{numbers[-1]} ({len(numbers)}{inferred})")
            parts.append(f"gaps: {', '.join(map(str, gaps))}" if gaps else "no gaps")
        else:
            parts.append(f"{sum(p.kind == 'paragraph' for p in passages)} unnumbered paragraphs")
        sections = {p.section for p in passages if p.section}
        parts.append(f"{len(sections)} sections, {sum(p.kind == 'footnote' for p in passages)} footnotes")
        header = next((p for p in passages if p.kind == "header"), None)
        parts.append("header " + ("from the manifest" if header and header.inferred else "read" if header else "none"))
        dropped = ", ".join(f"{why} {n} lines" for why, n in sorted(doc.dropped.items()))
        parts.append(f"dropped: {dropped or 'nothing'}")
        lines.append("; ".join(parts))
    return lines
