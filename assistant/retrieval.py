"""Retrieval: dense (FAISS) and lexical (BM25) search over the same passages, fused by reciprocal rank.

Users rarely use the records' own words, so the dense side finds paraphrases; BM25 finds exact
names, numbers and symbols. A question that names a speaker, State, organisation or meeting
("What did the IOM say ...", "at the 506th meeting") lifts the passages attributed to it; the
names come from the corpus itself (speakers, affiliations, their acronyms, document symbols).
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections import defaultdict
from dataclasses import asdict, dataclass, fields
from functools import cache

import bm25s
import faiss
import numpy as np
import Stemmer

from assistant.documents import Document
from assistant.embeddings import Embedder
from assistant.index import Index, is_chair, ordinal
from assistant.passages import Passage

MODES = ("hybrid", "dense", "bm25")
KINDS = ("paragraph", "header", "footnote", "heading")
CANDIDATES = 100  # passages each retriever contributes to the fusion
# Fusion: each retriever's scores scaled to 0..1 over its candidates, then averaged (DENSE_WEIGHT for the
# dense side), plus MENTION_BOOST for passages by the speaker or from the meeting the question names.
# On eval/questions.jsonl (153 answerable) MRR@10: 0.897 as set; 0.888 without the boost; dense weight 0.4
# or 0.6: 0.895, 0.884. Reciprocal rank fusion (K=60) gave 0.853-0.875; (K=5, BM25 weighted 2) 0.909, but
# then the paraphrase "Why do so few States join the Convention?" drops SR.506 para. 4 to 7th (4th here).
DENSE_WEIGHT = 0.5
MENTION_BOOST = 0.2
# BM25 MRR@10 on the eval set: long stop list "en_plus" 0.855, bm25s' 33-word "en" 0.817, none 0.796.
# Stemming is neutral here (0.855 Snowball, 0.853 none, 0.859 Porter); Snowball is kept so that
# "detained" meets "detain" and "States" meets "State" in questions the set does not have.
STEMMER = "english"
STOPWORDS = "en_plus"

# ---- filters ----

DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


@dataclass
class Filters:
    document: list[str] | None = None  # symbols or doc_ids
    date_from: str | None = None  # ISO date, possibly "2022" or "2022-09"; inclusive
    date_to: str | None = None
    session: str | None = None  # "Thirty-fifth session" or "thirty-fifth"
    speaker: str | None = None  # part of the name: "Flynn"; the Chair's own name works too
    affiliation: str | None = None  # part of the name, or its acronym: "IOM"
    kind: list[str] | None = None  # paragraph | header | footnote

    @classmethod
    def from_dict(cls, data: dict) -> Filters:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown filter {unknown[0]!r}; filters are: {', '.join(sorted(known))}")
        values = {k: v for k, v in data.items() if v not in (None, "", [])}
        for name in ("document", "kind"):
            if isinstance(values.get(name), str):
                values[name] = [values[name]]
        return cls(**values)

    def is_empty(self) -> bool:
        return all(value in (None, "", []) for value in asdict(self).values())


def date_bounds(date: str) -> tuple[str, str]:
    """'2022' -> ('2022-01-01', '2022-12-31'); '2013-09' -> ('2013-09-01', '2013-09-31'): compared as strings."""
    low = (date + "-01-01")[:10] if len(date) == 4 else (date + "-01")[:10]
    high = (date + "-12-31")[:10] if len(date) == 4 else (date + "-31")[:10]
    return low, high


def check_date(name: str, value: str | None) -> None:
    """A date as the records give them: '2022', '2022-09' or '2022-09-27', and a real one ('2022-13-45' is not)."""
    if value is None:
        return
    if not DATE.match(value) or not is_calendar_date(value):
        shown = value if len(value) <= 40 else value[:39] + "…"
        raise ValueError(f"{name} {shown!r} is not a date; write it as YYYY, YYYY-MM or YYYY-MM-DD, e.g. 2022-09-27")


def is_calendar_date(value: str) -> bool:
    try:
        datetime.date.fromisoformat((value + "-01-01")[:10] if len(value) == 4 else (value + "-01")[:10])
    except ValueError:
        return False
    return True


# ---- hits ----


@dataclass
class Hit:
    passage: Passage
    score: float
    rank: int
    dense_rank: int | None
    bm25_rank: int | None
    dense_score: float | None
    bm25_score: float | None

    def to_dict(self) -> dict:
        data = self.passage.to_dict()
        data.update(
            score=self.score,
            rank=self.rank,
            dense_rank=self.dense_rank,
            bm25_rank=self.bm25_rank,
            dense_score=self.dense_score,
            bm25_score=self.bm25_score,
        )
        return data


# ---- lexical search ----


class Lexical:
    """BM25 over the indexed texts; stems and stop words chosen on the eval set (see tests and report)."""

    def __init__(self, texts: list[str], stemmer: str | None = STEMMER, stopwords: str | None = STOPWORDS):
        self.stemmer = Stemmer.Stemmer(stemmer) if stemmer else None
        self.stopwords = stopwords or []
        self.bm25 = bm25s.BM25()
        self.bm25.index(self.tokenize(texts), show_progress=False)
        self.size = len(texts)

    def tokenize(self, texts: list[str]) -> list[list[str]]:
        return bm25s.tokenize(
            texts, stopwords=self.stopwords, stemmer=self.stemmer, return_ids=False, show_progress=False
        )

    def scores(self, query: str) -> np.ndarray:
        tokens = self.tokenize([query])[0]
        known = [t for t in tokens if t in self.bm25.vocab_dict]
        return self.bm25.get_scores(known) if known else np.zeros(self.size, dtype=np.float32)


# ---- names a question may mention: speakers, affiliations, meetings ----


def fold(text: str) -> str:
    """Accents off, typographic quotes straightened: 'Hernández’s' -> "Hernandez's"."""
    text = unicodedata.normalize("NFKD", text.replace("’", "'"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def words(text: str) -> str:
    """Lower-case words separated by single spaces, possessives off, 'UN' spelt out, padded for whole-word search."""
    text = re.sub(r"'s\b", "", fold(text).lower())
    text = re.sub(r"[^\w.\-]+|(?<!\w)[.\-]|[.\-](?!\w)", " ", text)
    return " " + re.sub(r"\bun\b", "united nations", " ".join(text.split())) + " "


TITLES = re.compile(r"^(?:Mr|Ms|Mrs|Mme|Dr|Prof)\.?\s+")
HEAD_OF_NAME = re.compile(r"\s(?:of|for|on|against)\s")


def surname(speaker: str) -> str | None:
    """'Mr. Corzo Sosa' -> 'Corzo Sosa'; 'The Chair' has none."""
    return TITLES.sub("", speaker) if TITLES.match(speaker) else None


def initials(name: str) -> str:
    """'International Organization for Migration' -> 'IOM': capitalised words only."""
    return "".join(word[0] for word in re.findall(r"[A-Z][\w\-]*", name))


@cache  # a corpus repeats each affiliation on every passage of its speaker
def affiliation_aliases(affiliation: str) -> tuple[frozenset[str], frozenset[str]]:
    """(names matched case-insensitively, acronyms matched as written) for one affiliation.

    'National Human Rights Council of Morocco (CNDH)' -> names {'National Human Rights Council of
    Morocco', 'National Human Rights Council'}, acronyms {'CNDH', 'NHRCM'}.
    """
    acronyms = set(re.findall(r"\b[A-Z]{2,}[a-z]?[A-Z]*\b", affiliation))
    plain = re.sub(r"\s*\([^)]*\)", "", affiliation).strip()
    names = {plain} - acronyms  # the whole name, even one word: 'Mexico'
    for part in (part.strip() for part in plain.split(",")):
        names |= {name for name in (part, HEAD_OF_NAME.split(part, maxsplit=1)[0]) if len(name.split()) >= 2}
        if len(initials(part)) >= 3:  # two letters would match too much by chance
            acronyms.add(initials(part))
    return frozenset(names), frozenset(acronyms)


class Names:
    """Which passages a question points at by naming their speaker, affiliation or meeting."""

    def __init__(self, passages: list[Passage], documents: dict[str, Document]):
        self.names: dict[str, set[int]] = defaultdict(set)  # words(name) -> passages, matched in any case
        self.surnames: dict[str, set[int]] = defaultdict(set)  # matched as written: 'Tall' is not 'tall'
        self.acronyms: dict[str, set[int]] = defaultdict(set)
        for i, passage in enumerate(passages):
            document = documents.get(passage.doc_id)
            for who in self.speaker_names(passage, document):
                self.surnames[fold(who)].add(i)
            if passage.affiliation:
                names, acronyms = affiliation_aliases(passage.affiliation)
                for name in names:
                    self.names[words(name)].add(i)
                for acronym in acronyms:
                    self.acronyms[acronym].add(i)
            if document:
                for name in self.meeting_names(document):
                    self.names[words(name)].add(i)

    @staticmethod
    def speaker_names(passage: Passage, document: Document | None) -> list[str]:
        if not passage.speaker:
            return []
        if is_chair(passage.speaker):
            chair = surname(document.chair) if document and document.chair else None
            return ["Chair", "Chairperson", *([chair] if chair else [])]
        return [name for name in [surname(passage.speaker)] if name]

    @staticmethod
    def meeting_names(document: Document) -> list[str]:
        names = [document.symbol, document.symbol.rsplit("/", 1)[-1]] if document.symbol else []
        if document.meeting:
            names.append(f"{ordinal(document.meeting)} meeting")
        return names

    def mentioned(self, question: str) -> set[int]:
        """Passages whose speaker, affiliation or meeting the question names."""
        found: set[int] = set()
        spaced = words(question)
        for name, passages in self.names.items():
            if name in spaced:
                found |= passages
        folded = fold(question)
        for name, passages in (*self.surnames.items(), *self.acronyms.items()):
            if re.search(rf"(?<![\w\-]){re.escape(name)}(?![\w\-])", folded):
                found |= passages
        return found


# ---- the retriever ----


@dataclass
class Ranked:
    """One retriever's view of a passage."""

    rank: int
    score: float


class Retriever:
    def __init__(self, index: Index, embedder: Embedder):
        self.index = index
        self.embedder = embedder
        embedder.serve_queries()
        faiss.omp_set_num_threads(1)  # as for the model: one query's search is too small to share out
        self.lexical = Lexical(index.texts)
        self.names = Names(index.passages, index.documents)
        self.speakers = [fold(speaker_names(p, index.documents.get(p.doc_id))).lower() for p in index.passages]

    @property
    def passages(self) -> list[Passage]:
        return self.index.passages

    def search(
        self,
        query: str,
        k: int = 10,
        filters: Filters | None = None,
        mode: str = "hybrid",
        vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """The k passages that best answer the query, best first; `vector` is the query's embedding when the caller
        has it already (the answerer embeds the question and its parts in one batch)."""
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r}; use one of: {', '.join(MODES)}")
        if not query or not query.strip():
            raise ValueError("the query is empty; type a question or some words to search for")
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        allowed = self.allowed(filters) if filters and not filters.is_empty() else None
        depth = max(k, CANDIDATES)
        if vector is None and mode != "bm25":
            vector = self.embedder.encode([query])[0]
        vector = vector if mode != "bm25" else None
        dense = self.dense(vector, depth, allowed) if vector is not None else {}
        lexical = self.bm25(query, depth, allowed) if mode != "dense" else {}
        if mode == "dense":
            scored = {i: r.score for i, r in dense.items()}
        elif mode == "bm25":
            scored = {i: r.score for i, r in lexical.items()}
        else:
            scored = self.fuse(query, dense, lexical)
            self.fill_dense_scores(vector, dense, lexical)
        best = sorted(scored, key=lambda i: (-scored[i], i))[:k]
        return [self.hit(i, rank, scored[i], dense, lexical) for rank, i in enumerate(best, start=1)]

    def hit(self, i: int, rank: int, score: float, dense: dict[int, Ranked], lexical: dict[int, Ranked]) -> Hit:
        d, b = dense.get(i), lexical.get(i)
        return Hit(
            passage=self.passages[i],
            score=float(score),
            rank=rank,
            dense_rank=d.rank if d and d.rank else None,
            bm25_rank=b.rank if b else None,
            dense_score=d.score if d else None,
            bm25_score=b.score if b else None,
        )

    def dense(self, vector: np.ndarray, n: int, allowed: list[int] | None) -> dict[int, Ranked]:
        found = self.index.nearest(vector, n, allowed)
        return {i: Ranked(rank, score) for rank, (i, score) in enumerate(found, start=1)}

    def bm25(self, query: str, n: int, allowed: list[int] | None) -> dict[int, Ranked]:
        scores = self.lexical.scores(query)
        if allowed is not None:
            mask = np.zeros_like(scores)
            mask[allowed] = 1
            scores = scores * mask
        top = np.argpartition(-scores, min(n, len(scores) - 1))[:n] if len(scores) > n else np.arange(len(scores))
        top = sorted((i for i in top.tolist() if scores[i] > 0), key=lambda i: (-scores[i], i))
        return {i: Ranked(rank, float(scores[i])) for rank, i in enumerate(top, start=1)}

    def fuse(self, query: str, dense: dict[int, Ranked], lexical: dict[int, Ranked]) -> dict[int, float]:
        """Weighted mean of the two scaled scores, plus a lift for what the query names."""
        scores: dict[int, float] = defaultdict(float)
        for weight, ranked in ((DENSE_WEIGHT, dense), (1 - DENSE_WEIGHT, lexical)):
            for i, scaled in scale(ranked).items():
                scores[i] += weight * scaled
        for i in self.names.mentioned(query) & set(scores):
            scores[i] += MENTION_BOOST
        return scores

    def fill_dense_scores(self, vector: np.ndarray, dense: dict[int, Ranked], lexical: dict[int, Ranked]) -> None:
        """Cosine scores for passages only BM25 found, so every hybrid hit carries both scores."""
        missing = [i for i in lexical if i not in dense]
        for i, score in self.index.nearest(vector, len(missing), missing):
            dense[i] = Ranked(0, score)  # rank 0: scored, but outside the dense top candidates

    # ---- filters: each names the passages it lets through, or None when unset ----

    def allowed(self, f: Filters) -> list[int]:
        """Positions of the passages that pass every filter; raises ValueError on a filter that names nothing known."""
        chosen = set(range(len(self.passages)))
        for selected in (
            self.of_documents(f.document),
            self.in_dates(f.date_from, f.date_to),
            self.of_session(f.session),
            self.of_speaker(f.speaker),
            self.of_affiliation(f.affiliation),
            self.of_kinds(f.kind),
        ):
            if selected is not None:
                chosen &= selected
        return sorted(chosen)

    def select(self, test) -> set[int]:
        return {i for i, p in enumerate(self.passages) if test(p)}

    def of_documents(self, documents: list[str] | None) -> set[int] | None:
        if not documents:
            return None
        known = {name.lower() for p in self.passages for name in (p.document, p.doc_id)}
        unknown = [d for d in documents if d.lower() not in known]
        if unknown:
            names = ", ".join(sorted({p.document for p in self.passages}))
            raise ValueError(f"unknown document {unknown[0]!r}; the corpus has: {names}")
        wanted = {d.lower() for d in documents}
        return self.select(lambda p: p.document.lower() in wanted or p.doc_id.lower() in wanted)

    def in_dates(self, date_from: str | None, date_to: str | None) -> set[int] | None:
        """Passages whose date overlaps the range: a record dated '2013-09' is in a range ending 2013-09-15."""
        check_date("date_from", date_from)
        check_date("date_to", date_to)
        if not (date_from or date_to):
            return None
        low = date_bounds(date_from)[0] if date_from else "0000"
        high = date_bounds(date_to)[1] if date_to else "9999"
        return self.select(lambda p: bool(p.date) and date_bounds(p.date)[1] >= low and date_bounds(p.date)[0] <= high)

    def of_session(self, session: str | None) -> set[int] | None:
        if not session:
            return None
        known = {session_key(p.session): p.session for p in self.passages if p.session}
        if session_key(session) not in known:
            raise ValueError(f"unknown session {session!r}; the corpus has: {', '.join(sorted(known.values()))}")
        return self.select(lambda p: bool(p.session) and session_key(p.session) == session_key(session))

    def of_speaker(self, speaker: str | None) -> set[int] | None:
        """Part of the speaker's name; the Chair's passages answer to the chair's own name too."""
        if not speaker:
            return None
        who = fold(speaker).lower()
        return {i for i, names in enumerate(self.speakers) if who in names}

    def of_affiliation(self, affiliation: str | None) -> set[int] | None:
        """Part of the affiliation's name (any case), or one of its acronyms as written ('IOM')."""
        if not affiliation:
            return None
        text = fold(affiliation).lower()
        by_acronym = self.names.acronyms.get(affiliation.strip(), set())
        return by_acronym | self.select(lambda p: bool(p.affiliation) and text in fold(p.affiliation).lower())

    def of_kinds(self, kinds: list[str] | None) -> set[int] | None:
        if not kinds:
            return None
        unknown = sorted(set(kinds) - set(KINDS))
        if unknown:
            raise ValueError(f"unknown passage kind {unknown[0]!r}; kinds are: {', '.join(KINDS)}")
        return self.select(lambda p: p.kind in kinds)


def speaker_names(passage: Passage, document: Document | None) -> str:
    """'Mr. Flynn'; 'The Chair Ms. Diallo' for the Chair, so that either name finds the passage."""
    chair = document.chair if document and is_chair(passage.speaker) else None
    return " ".join(name for name in (passage.speaker, chair) if name)


def scale(ranked: dict[int, Ranked]) -> dict[int, float]:
    """Scores mapped onto 0..1 between the lowest and the highest candidate."""
    if not ranked:
        return {}
    low, high = min(r.score for r in ranked.values()), max(r.score for r in ranked.values())
    return {i: (r.score - low) / (high - low) if high > low else 1.0 for i, r in ranked.items()}


def session_key(session: str) -> str:
    return re.sub(r"\s+session$", "", session.strip().lower())
