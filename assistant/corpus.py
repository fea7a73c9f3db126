"""The corpus: every document of the corpus folder read, parsed and checked, one bad file never stopping the rest."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from assistant.documents import Document, DocumentError, Problem, load_manifest, read_text
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


def load_corpus(corpus_dir: Path) -> Corpus:
    if not corpus_dir.is_dir():
        raise DocumentError(f"corpus folder {corpus_dir} does not exist; set ASSISTANT_CORPUS_DIR or --corpus")
    documents, problems = load_manifest(corpus_dir)
    loaded: list[Document] = []
    passages: list[Passage] = []
    for doc in documents:
        path = corpus_dir / doc.source
        if not path.exists():
            problems.append(Problem(doc.source, None, "named in manifest.json but missing from the corpus folder"))
            continue
        try:
            text = read_text(path)
        except DocumentError as err:
            problems.append(Problem(doc.source, None, str(err).removeprefix(f"{doc.source}: ")))
            continue
        found, doc_problems = parse_document(text, doc)
        problems += doc_problems
        if not found:
            problems.append(Problem(doc.source, None, "no passages found; is this a treaty-body document?"))
            continue
        loaded.append(doc)
        passages += found
    return Corpus(loaded, passages, problems)
