"""Sentences: the unit an answer scores and quotes; split here, and embedded with the index, not per question.

`sentence_spans` cuts a passage into sentences (spans into its verbatim text). The index build embeds
every passage's sentences once and stores them beside the passage vectors (`SentenceVectors`), so a
freshly started server scores sentences from its first question without embedding any: on the five
records plus the realworld documents that was 700 ms of a first answer's p95.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ABBREVIATION = re.compile(
    r"(?:\b(?:Mr|Ms|Mrs|Mmes|Messrs|Dr|Prof|No|Nos|para|paras|art|arts|arts|etc|cf|Cf|vs|op|fn|sect|vol|Vol|pp|p|"
    r"a\.m|p\.m|e\.g|i\.e|St|Inc|Ltd|Co|Jr|Sr)|\b[A-Z])$"
)
SENTENCE_END = re.compile(r"[.!?][\"”’)]*\s+(?=[A-Z0-9“\"(‘])|\n+")
OFFSETS, SPANS, VECTORS = "sentence-offsets.npy", "sentence-spans.npy", "sentence-vectors.npy"
FILES = (OFFSETS, SPANS, VECTORS)


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


def passage_sentences(text: str) -> list[tuple[int, int]]:
    """The spans an answer scores: a passage with no sentence end is one sentence."""
    return sentence_spans(text) or [(0, len(text))]


@dataclass
class SentenceVectors:
    """Every passage's sentences, flat: passage i owns rows offsets[i]:offsets[i + 1] of spans and vectors."""

    offsets: np.ndarray  # (passages + 1,) int64
    spans: np.ndarray  # (sentences, 2) int64: (start, end) into the passage's text
    vectors: np.ndarray  # (sentences, dim) float32 unit vectors, the index's embedder and backend

    @classmethod
    def empty(cls) -> SentenceVectors:
        return cls(np.zeros(1, dtype=np.int64), np.zeros((0, 2), dtype=np.int64), np.zeros((0, 0), dtype=np.float32))

    @classmethod
    def cut(cls, texts: list[str]) -> tuple[SentenceVectors, list[str]]:
        """Spans and offsets for these passage texts, vectors still empty, and the sentence texts to embed."""
        spans = [passage_sentences(text) for text in texts]
        offsets = np.cumsum([0] + [len(s) for s in spans], dtype=np.int64)
        flat = np.array([span for group in spans for span in group], dtype=np.int64).reshape(-1, 2)
        sentences = [text[s:e] for text, group in zip(texts, spans, strict=True) for s, e in group]
        return cls(offsets, flat, np.zeros((0, 0), dtype=np.float32)), sentences

    def of(self, position: int) -> tuple[list[tuple[int, int]], np.ndarray]:
        """(spans, vectors) of the passage at this position in the index: vectors[j] embeds text[spans[j][0]:spans[j][1]]."""
        start, end = int(self.offsets[position]), int(self.offsets[position + 1])
        return [(int(s), int(e)) for s, e in self.spans[start:end]], self.vectors[start:end]

    def save(self, folder: Path) -> None:
        np.save(folder / OFFSETS, self.offsets)
        np.save(folder / SPANS, self.spans)
        np.save(folder / VECTORS, self.vectors)

    @classmethod
    def load(cls, folder: Path) -> SentenceVectors:
        return cls(np.load(folder / OFFSETS), np.load(folder / SPANS), np.load(folder / VECTORS))


class Sentences:
    """Sentence spans and vectors per passage id: those the index stored, and any other passage's embedded on first
    use and kept for the life of the process."""

    def __init__(self, embedder):
        self.embedder = embedder
        self.spans: dict[str, list[tuple[int, int]]] = {}
        self.vectors: dict[str, np.ndarray] = {}
        self.lock = threading.Lock()

    def store(self, passages: list, stored: SentenceVectors) -> None:
        """Take the vectors the index build embedded for these passages (in index order)."""
        for position, passage in enumerate(passages):
            self.spans[passage.id], self.vectors[passage.id] = stored.of(position)

    def of(self, passages: list) -> None:
        """Embed, in one batch, the sentences of those passages not stored nor seen before."""
        with self.lock:
            todo = [p for p in dict.fromkeys(passages) if p.id not in self.vectors]
        if not todo:
            return
        spans = {p.id: passage_sentences(p.text) for p in todo}
        texts = [p.text[s:e] for p in todo for s, e in spans[p.id]]
        vectors = self.embedder.encode(texts)
        row = 0
        with self.lock:
            for p in todo:
                count = len(spans[p.id])
                self.spans[p.id], self.vectors[p.id] = spans[p.id], vectors[row : row + count]
                row += count
