"""Sentences: the unit the answerer scores and quotes, with spans into the verbatim passage text."""

from __future__ import annotations

import re
import threading

import numpy as np

from assistant.passages import Passage

ABBREVIATION = re.compile(
    r"(?:\b(?:Mr|Ms|Mrs|Mmes|Messrs|Dr|Prof|No|Nos|para|paras|art|arts|etc|cf|Cf|vs|op|fn|sect|vol|Vol|pp|p|"
    r"a\.m|p\.m|e\.g|i\.e|St|Inc|Ltd|Co|Jr|Sr)|\b[A-Z])$"
)
SENTENCE_END = re.compile(r"[.!?][\"”’)]*\s+(?=[A-Z0-9“\"(‘])|\n+|[;:]\s+(?=\([a-z]{1,4}\)\s?\S)")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of a passage; a header splits by line, a list by its items ('(a) ...;').
    Spans index the verbatim text."""
    spans, start = [], 0
    for match in SENTENCE_END.finditer(text):
        before = text[start : match.start()]
        if "\n" not in match.group() and ABBREVIATION.search(before):
            continue  # "Mr. Flynn", "No. 6", "3 p.m. The": not an end
        end = match.start() + len(match.group().rstrip())
        if text[start:end].strip():
            spans.append((start, end))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return [trim(text, s, e) for s, e in spans]


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


class Sentences:
    """Sentence spans and vectors per passage, embedded on first use and kept for the life of the process."""

    def __init__(self, embedder):
        self.embedder = embedder
        self.spans: dict[str, list[tuple[int, int]]] = {}
        self.vectors: dict[str, np.ndarray] = {}
        self.lock = threading.Lock()

    def of(self, passages: list[Passage]) -> None:
        """Embed, in one batch, the sentences of those passages not seen before.

        The lock guards the dictionaries only, never the model: a question asked while the server warms up
        must not wait behind a warm-up batch.
        """
        with self.lock:
            todo = [p for p in dict.fromkeys(passages) if p.id not in self.vectors]
        if not todo:
            return
        spans = {p.id: sentence_spans(p.text) or [(0, len(p.text))] for p in todo}
        texts = [p.text[s:e] for p in todo for s, e in spans[p.id]]
        vectors = self.embedder.encode(texts)
        row = 0
        with self.lock:
            for p in todo:
                count = len(spans[p.id])
                self.spans[p.id], self.vectors[p.id] = spans[p.id], vectors[row : row + count]
                row += count

    def warm(self, passages: list[Passage], batch: int = 8, stop: threading.Event | None = None) -> None:
        """Embed every passage's sentences now (a server does this once, so that no question waits for it);
        `stop` ends it between batches."""
        for start in range(0, len(passages), batch):
            if stop is not None and stop.is_set():
                return
            self.of(passages[start : start + batch])
