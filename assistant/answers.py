"""Answers: verbatim quotes from the passages that answer a question, attributed and cited; or a plain abstention.

Extractive by default. The retriever finds passages; every sentence of them is scored against the
question (cosine with the same embedding model, plus lexical evidence: how much of the question's
weighted vocabulary the sentence and its passage contain); the best few are quoted verbatim with
speaker, affiliation, date and citation. Questions about a record itself ("Who chaired the 590th
meeting?") are answered from the header's own line. When the corpus plainly cannot answer (names
and references it never mentions, speakers who never spoke) or the evidence is weak (a small
logistic model over a few features, coefficients in abstention.json), the answer says so and lists
the closest passages instead. With an LLM configured (settings.llm_base_url), generation.py writes
a fluent answer over the same passages, checked before use; any failure falls back to the quotes.
"""

from __future__ import annotations

import json
import math
import re
import threading
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from assistant.documents import Document
from assistant.grounding import Grounding, Quoted
from assistant.passages import Passage, human_date
from assistant.questions import (
    DOCUMENT_ANAPHORA,
    YEAR,
    CorpusFacts,
    FollowUp,
    Intent,
    asked_fields,
    context_text,
    focus_parts,
    fold,
    has_answer_type,
    is_chair,
    is_follow_up,
    named_speakers,
    read_question,
    stems,
    topic_terms,
)
from assistant.retrieval import Filters, Hit
from assistant.sentences import sentence_spans, trim
from assistant.settings import Settings

ABSTENTION_MODEL = Path(__file__).with_name("abstention.json")
MAX_QUOTES = 3  # sentences quoted for a plain question; a few, most relevant first
MAX_QUOTES_MANY = 5  # for "Which speakers ..." questions: several sources
PASSAGES_MANY = 12  # passages read for such a question (else settings.answer_passages)
MAX_SENTENCES_PER_QUOTE = 3  # one passage's quote is a contiguous span of at most this many sentences
KEEP_RATIO = 0.8  # further passages are quoted when their best sentence scores at least this share of the best
KEEP_RATIO_MANY = 0.6  # ... when the question asks for several sources
NEIGHBOUR_RATIO = 0.85  # a neighbouring sentence joins a quote when it scores this share of the quote's lead
MAX_SENTENCES_SPEAKER = 5  # ... when the question names the passage's speaker
NEIGHBOUR_RATIO_SPEAKER = 0.75
SHORT_SPAN_WORDS = 20  # a quote this short is a topic sentence: the next sentence carries the substance
LATEST_FIRST_MARGIN = 0.1  # answers from records of different dates scoring this close are shown latest first
LIST_ITEMS = 8  # list items quoted after a passage that introduces them with ':'
RELATED = 3  # closest passages offered beside an answer or an abstention
HISTORY_TURNS = 3  # earlier turns read to resolve a follow-up
TOPIC_FLOOR = 0.35  # mean cosine (sentence, passage) below which a single shared word counts only in proportion
SINGLE_WORD_SHARE = 0.5  # a sentence sharing one word with a question of three or more counts half its lexical share


class QuestionError(ValueError):
    """A question that cannot be asked (empty, too long); the message says what to do."""


# ---- the records returned ----


@dataclass
class Citation:
    n: int
    document: str
    title: str
    paragraph: str
    label: str  # as printed: "CMW/C/SR.506, para. 23"
    speaker: str | None
    affiliation: str | None
    date: str | None
    section: str | None
    quote: str  # verbatim span of `text`
    text: str  # the passage's whole text
    score: float
    url: str  # opens the passage in the document reader
    doc_id: str
    anchor: str
    kind: str

    @classmethod
    def of(cls, n: int, passage: Passage, quote: str, score: float) -> Citation:
        return cls(
            n=n,
            document=passage.document,
            title=passage.title,
            paragraph=passage.paragraph,
            label=passage.label,
            speaker=passage.speaker,
            affiliation=passage.affiliation,
            date=passage.date,
            section=passage.section,
            quote=quote,
            text=passage.text,
            score=round(float(score), 4),
            url=f"/documents/{passage.doc_id}#{passage.anchor}",
            doc_id=passage.doc_id,
            anchor=passage.anchor,
            kind=passage.kind,
        )


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    related: list[Citation]
    mode: str  # "extractive" | "generative"
    notice: str | None
    resolved_question: str

    def to_dict(self) -> dict:
        return asdict(self)


# ---- sentences: the unit that is scored and quoted ----


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


def text_of(data: dict, key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


# ---- scoring ----


@dataclass
class Features:
    """Evidence that one sentence answers the question; each in [0, 1]."""

    sentence_cosine: float  # the sentence's cosine with the question (same embedding model as retrieval)
    passage_cosine: float  # its passage's cosine: a sentence is read in its context
    sentence_lexical: float  # IDF-weighted share of the question's stems in the sentence
    passage_lexical: float  # ... in the passage with its speaker, affiliation and section
    rank: float  # 1 / sqrt(retrieval rank)
    speaker: float  # 1 when the question names the passage's speaker
    answer_type: float  # 1 when the sentence holds what the question asks for: a person, a date, a number
    question: float  # 1 when the sentence is itself a question (concept notes list many): it answers nothing

    def score(self, weights: Weights) -> float:
        return sum(getattr(weights, name) * value for name, value in asdict(self).items())


@dataclass
class Scored:
    """One sentence of one retrieved passage, with the evidence that it answers the question."""

    hit: Hit
    index: int  # sentence position in its passage
    span: tuple[int, int]
    features: Features
    score: float
    part: int = 0  # which part of the question it answers best

    @property
    def cosine(self) -> float:
        return self.features.sentence_cosine

    @property
    def lexical(self) -> float:
        return self.features.sentence_lexical

    @property
    def passage(self) -> Passage:
        return self.hit.passage


@dataclass
class Evidence:
    """What the abstention model reads: a few numbers, each explainable."""

    best: float  # best sentence's combined score
    cosine: float  # best sentence's cosine with the question
    lexical: float  # share of the question's weighted vocabulary in the best sentence
    coverage: float  # share of the question's weighted vocabulary found in the top passages
    unknown: float  # share of the question's weighted vocabulary the corpus never uses
    agreement: float  # 1 when the dense and BM25 retrievers both rank the top passage in their top 3


def coverage(question_stems: dict[str, float], text_stems: set[str]) -> float:
    """IDF-weighted share of the question's stems present in a text."""
    total = sum(question_stems.values())
    return sum(w for s, w in question_stems.items() if s in text_stems) / total if total else 0.0


def lexical_share(question_stems: dict[str, float], text_stems: set[str], topical: float) -> float:
    """coverage(), discounted when a text shares a single word with a longer question and is off its topic: 'join'
    alone makes 'join national trade unions' look like an answer to 'Why do so few States join the Convention?'.
    Two shared words ('video link') are evidence enough whatever the embedding says."""
    share = coverage(question_stems, text_stems)
    single = len(question_stems.keys() & text_stems) == 1 and len(question_stems) >= 3
    return share * SINGLE_WORD_SHARE * topical if single else share


def on_topic(sentence_cosine: float, passage_cosine: float) -> float:
    """How far lexical evidence is to be believed: fully when the sentence and its passage agree in meaning with the
    question (mean cosine >= TOPIC_FLOOR), in proportion below (e.g. cosines 0.31 and 0.10: 0.59)."""
    return min(1.0, max(0.0, (sentence_cosine + passage_cosine) / 2) / TOPIC_FLOOR)


@dataclass
class Weights:
    """How a sentence's score is made; chosen on the eval set (see report), kept few and readable."""

    sentence_cosine: float = 0.30
    passage_cosine: float = 0.15
    sentence_lexical: float = 0.15
    passage_lexical: float = 0.20
    rank: float = 0.05
    speaker: float = 0.20
    answer_type: float = 0.10
    question: float = -0.05


@dataclass
class AbstentionModel:
    """Logistic model over Evidence.features(): abstain when P(answerable) < threshold."""

    names: list[str]
    coefficients: list[float]
    intercept: float
    threshold: float

    @classmethod
    def load(cls, path: Path = ABSTENTION_MODEL) -> AbstentionModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["features"], data["coefficients"], data["intercept"], data["threshold"])

    def probability(self, evidence: Evidence) -> float:
        z = self.intercept + sum(c * getattr(evidence, n) for n, c in zip(self.names, self.coefficients, strict=True))
        return 1 / (1 + math.exp(-z))


@dataclass
class Draft:
    """A question on its way to an answer: read, searched, scored (the calibration script reads it too)."""

    question: str
    follow: FollowUp
    intent: Intent
    query: str  # what was searched: the resolved question, without the records it names, acronyms spelt out
    hits: list[Hit]
    scored: list[Scored] = field(default_factory=list)
    evidence: Evidence | None = None

    @property
    def judged(self) -> bool:
        """Whether the abstention model decides: not for a follow-up, whose topic comes from a turn answered before
        ('And how long can they be?' has little evidence of its own); the rules still apply to it."""
        return self.evidence is not None and self.follow.question == self.question


# ---- the answerer ----


class Answerer:
    def __init__(self, retriever, settings: Settings, weights: Weights | None = None):
        self.retriever = retriever
        self.settings = settings
        self.weights = weights or Weights()
        self.facts = CorpusFacts.collect(retriever.passages)
        self.sentences = Sentences(retriever.embedder)
        self.abstention = AbstentionModel.load()
        self.grounding = Grounding(self.facts, retriever.passages)
        self.headers = {p.doc_id: p for p in retriever.passages if p.kind == "header"}
        self.in_order: dict[str, list[Passage]] = {}
        for p in sorted(retriever.passages, key=lambda p: (p.doc_id, p.order)):
            self.in_order.setdefault(p.doc_id, []).append(p)
        self.passage_stems = {p.id: set(stems(context_text(p, self.facts))) for p in retriever.passages}

    # ---- public ----

    def ask(
        self, question: str, history: list[dict] | None = None, k: int | None = None, filters: Filters | None = None
    ) -> Answer:
        draft = self.draft(question, history, k, filters)
        answer = self.extractive(draft)
        if self.settings.llm_base_url and not answer.abstained:
            from assistant.generation import generate_answer

            answer = generate_answer(answer, self.candidates_for_generation(answer), self.settings)
        return answer

    def draft(
        self, question: str, history: list[dict] | None = None, k: int | None = None, filters: Filters | None = None
    ) -> Draft:
        """Everything an answer is made from: the question read, the passages found, their sentences scored."""
        question = self.check_question(question)
        follow = self.follow_up(question, history or [])
        intent = read_question(follow.question, self.facts)
        own = read_question(question, self.facts)  # the turn's own words, not the context carried into it
        intent.unanswerable, intent.constraints = own.unanswerable, own.constraints
        intent.speakers = named_speakers(question, self.facts) or intent.speakers  # its own names first
        if follow.strict and follow.documents and not intent.documents:
            intent.documents = follow.documents
            intent.fields = intent.fields or asked_fields(question, names_record=True)
            intent.asks = intent.fields[0] if intent.fields else None
        query = " ".join([intent.content if intent.documents else follow.question, *intent.expansions])
        k = k or (
            max(self.settings.answer_passages, PASSAGES_MANY) if intent.wants_many else self.settings.answer_passages
        )
        hits = self.retriever.search(query, k=k, filters=self.scoped(filters, intent))  # a bad filter: ValueError
        hits += self.named_headers(intent, hits)
        draft = Draft(question, follow, intent, query, hits)
        if not intent.unanswerable and not intent.asks:
            draft.scored = self.score(query, focus_parts(question, intent), intent, hits)
            if draft.scored:
                draft.evidence = self.evidence(query, draft.scored, hits)
        return draft

    def warm(self, stop: threading.Event | None = None) -> None:
        """Embed every passage's sentences now (~10 s on 2 cores), so that no question waits for it: a server
        calls this once at start; a one-off `assistant ask` does not, and embeds only the passages it reads."""
        self.sentences.warm(self.retriever.passages, stop=stop)

    def resolve_question(self, question: str, history: list[dict] | None = None) -> str:
        """What a follow-up question is searched as (the eval runner reads this)."""
        return self.follow_up(self.check_question(question), history or []).question

    def check_question(self, question: object) -> str:
        if not isinstance(question, str) or not question.strip():
            raise QuestionError(
                "the question is empty; ask something about the records, e.g. 'Who chaired the 590th meeting?'"
            )
        question = " ".join(question.split())
        if len(question) > self.settings.max_question_chars:
            raise QuestionError(
                f"the question is {len(question)} characters long; the limit is {self.settings.max_question_chars} "
                "(ASSISTANT_MAX_QUESTION_CHARS): ask a shorter question"
            )
        return question

    # ---- follow-ups ----

    def follow_up(self, question: str, history: list[dict]) -> FollowUp:
        """Carry the previous turn's topic and record into a question that points back ('When was that?')."""
        turns = [t for t in history[-HISTORY_TURNS:] if isinstance(t, dict) and str(t.get("question") or "").strip()]
        if not turns or not is_follow_up(question):
            return FollowUp(question, [], False)
        previous = turns[-1]
        earlier = self.follow_up(str(previous["question"]), turns[:-1])
        documents = self.documents_of_turn(previous, earlier)
        terms = [t for t in topic_terms(earlier.question) if fold(t) not in fold(question)]
        context = " ".join(dict.fromkeys(terms))
        where = ", ".join(self.facts.names.get(d, d) for d in documents[:1])
        resolved = f"{question} [{'; '.join(filter(None, [context, where]))}]" if context or where else question
        strict = bool(DOCUMENT_ANAPHORA.search(question))
        return FollowUp(resolved, documents[:1], strict)

    def documents_of_turn(self, turn: dict, resolved: FollowUp) -> list[str]:
        """The record of a turn's top citation: given with the turn, else found by answering it again."""
        by_name = {name: doc_id for doc_id, name in self.facts.names.items()}
        given = turn.get("citations")
        citations = [c for c in given if isinstance(c, dict)] if isinstance(given, list) else []
        # A client sends these back; anything but a string is not a document name (and may not even be hashable).
        doc_ids = [text_of(c, "doc_id") or by_name.get(text_of(c, "document")) for c in citations]
        doc_ids = [d for d in doc_ids if d in self.facts.names]
        if doc_ids:
            return doc_ids[:1]
        intent = read_question(resolved.question, self.facts)
        if intent.documents:
            return intent.documents[:1]
        hits = self.retriever.search(resolved.question, k=3)
        return [hits[0].passage.doc_id] if hits else []

    # ---- the extractive answer ----

    def extractive(self, draft: Draft) -> Answer:
        question, follow, intent, hits = draft.question, draft.follow, draft.intent, draft.hits
        if intent.unanswerable:
            return self.abstain(question, follow, hits, "; ".join(intent.unanswerable))
        if intent.asks:
            answer = self.from_headers(question, follow, intent, hits)
            if answer:
                return answer
            draft.scored = self.score(draft.query, focus_parts(question, intent), intent, hits)
            draft.evidence = self.evidence(draft.query, draft.scored, hits) if draft.scored else None
        if not draft.scored or draft.evidence is None:
            return self.abstain(question, follow, hits, "no passage matches it")
        if draft.judged and self.abstention.probability(draft.evidence) < self.abstention.threshold:
            return self.abstain(question, follow, hits, None)
        groups, reason = self.grounded(draft)
        if reason:
            return self.abstain(question, follow, hits, reason)
        return self.compose(question, follow, groups, hits, intent)

    def grounded(self, draft: Draft) -> tuple[list[list[Scored]], str | None]:
        """The quotes to give, chosen from passages that mention everything the question names (grounding.py); or
        why there are none: a name no answering passage mentions, or quotes without the number, date or State asked."""
        intent, constraints = draft.intent, draft.intent.constraints
        passages = {s.passage.id: s.passage for s in draft.scored}
        meeting = {pid for pid, p in passages.items() if self.grounding.meets_all(p, constraints)}  # once a passage
        complete = [s for s in draft.scored if s.passage.id in meeting]
        groups = self.choose(complete or draft.scored, intent)
        if not complete:
            closest = [g[0].passage for g in groups]
            unmet = self.grounding.unmet(constraints, closest)
            if unmet or not spreads(draft.question, intent):
                names = " and ".join(c.text for c in unmet) or "everything it names"
                return [], f"no passage close to the question mentions {names}"
        return groups, self.grounding.missing_answer(
            intent, [Quoted(g[0].passage, quote_of(g), max(s.score for s in g)) for g in groups]
        )

    def named_headers(self, intent: Intent, hits: list[Hit]) -> list[Hit]:
        """The header of each record the question names, when the search did not bring it: a header says what a
        document is ('In follow-up to the extraordinary meeting ... in Agadir')."""
        found = {h.passage.id for h in hits}
        extra = [self.headers[d] for d in intent.documents if d in self.headers and self.headers[d].id not in found]
        rank = len(hits)
        return [Hit(p, 0.0, rank + i, None, None, None, None) for i, p in enumerate(extra, start=1)]

    def scoped(self, filters: Filters | None, intent: Intent) -> Filters | None:
        """The records a question names limit the search, unless the caller chose documents already."""
        if not intent.documents:
            return filters
        if filters is None:
            return Filters(document=list(intent.documents))
        return filters if filters.document else replace(filters, document=list(intent.documents))

    def score(self, query: str, parts: list[str], intent: Intent, hits: list[Hit]) -> list[Scored]:
        """Every sentence of the retrieved passages, best first. A passage is judged on the whole (resolved) query;
        a sentence on the question's own words, part by part ('Who spoke ..., and which objective ...?')."""
        passages = [h.passage for h in hits]
        if not passages:
            return []
        self.sentences.of(passages)
        vectors = self.retriever.embedder.encode(parts)
        part_stems = [self.weighted_stems(part) for part in parts]
        query_stems = self.weighted_stems(query)
        speakers = {(s.doc_id, s.name, s.affiliation) for s in intent.speakers}
        scored = []
        for hit in hits:
            p = hit.passage
            cosines = self.sentences.vectors[p.id] @ vectors.T  # (sentences, parts)
            passage_cosine = float(hit.dense_score) if hit.dense_score is not None else float(cosines.max())
            by_speaker = float((p.doc_id, p.speaker, p.affiliation) in speakers)
            # the speaker's own name in a sentence ('Mr. Arbaoui (Amsterdam Centre ...) said') is no evidence that
            # the sentence answers: the speaker feature counts it once, for every sentence of the passage
            own = set(stems(" ".join(filter(None, [p.speaker, p.affiliation, self.facts.chair_of(p)]))))
            rest = [{s: w for s, w in part.items() if s not in own} for part in part_stems]
            for i, (start, end) in enumerate(self.sentences.spans[p.id]):
                sentence = p.text[start:end]
                if p.kind == "header" and METADATA_LINE.match(sentence):
                    continue  # 'Chair: Mr. Corzo Sosa' answers only a question about the record (from_headers)
                sentence_stems = set(stems(sentence))
                best = None
                for j in range(len(parts)):
                    topical = on_topic(float(cosines[i, j]), passage_cosine)
                    features = Features(
                        sentence_cosine=float(cosines[i, j]),
                        passage_cosine=passage_cosine,
                        sentence_lexical=lexical_share(rest[j], sentence_stems, topical),
                        passage_lexical=lexical_share(query_stems, self.passage_stems[p.id], topical),
                        rank=1 / math.sqrt(hit.rank),
                        speaker=by_speaker,
                        answer_type=float(has_answer_type(sentence, intent.answer_type)),
                        question=float(sentence.rstrip().endswith("?")),
                    )
                    candidate = Scored(hit, i, (start, end), features, features.score(self.weights), j)
                    if best is None or candidate.score > best.score:
                        best = candidate
                scored.append(best)
        return sorted(scored, key=lambda s: -s.score)

    def weighted_stems(self, text: str) -> dict[str, float]:
        return {s: self.facts.idf(s) for s in set(stems(text))}

    def evidence(self, query: str, scored: list[Scored], hits: list[Hit]) -> Evidence:
        question_stems = self.weighted_stems(query)
        top = set().union(*(self.passage_stems[h.passage.id] for h in hits[:3]))
        unknown = {s: w for s, w in question_stems.items() if s not in self.facts.stem_df}
        total = sum(question_stems.values()) or 1.0
        first = hits[0]
        agreement = float((first.dense_rank or 99) <= 3 and (first.bm25_rank or 99) <= 3)
        best = scored[0]
        return Evidence(
            best.score,
            best.cosine,
            best.lexical,
            coverage(question_stems, top),
            sum(unknown.values()) / total,
            agreement,
        )

    def choose(self, scored: list[Scored], intent: Intent) -> list[list[Scored]]:
        """The best sentence for each part of the question, then the next best while they score close to the best;
        each passage quoted once, as a short contiguous span around its chosen sentences."""
        limit = MAX_QUOTES_MANY if intent.wants_many else MAX_QUOTES
        keep = KEEP_RATIO_MANY if intent.wants_many else KEEP_RATIO
        best = scored[0].score
        by_passage: dict[str, dict[int, Scored]] = {}
        for s in scored:
            by_passage.setdefault(s.passage.id, {})[s.index] = s
        part_bests = list({s.part: s for s in reversed(scored)}.values())  # scored is best first: each part's best
        must = {id(s) for s in part_bests}
        anchors: dict[str, list[Scored]] = {}
        speakers_quoted: set[tuple] = set()
        for s in [*sorted(part_bests, key=lambda s: -s.score), *scored]:
            group = anchors.get(s.passage.id)
            if group is not None:
                near = max(abs(s.index - g.index) for g in group) < MAX_SENTENCES_PER_QUOTE
                if id(s) in must and all(g is not s for g in group) and near:
                    group.append(s)
            elif len(anchors) < limit and (id(s) in must or s.score >= best * keep):
                repeated = s.passage.speaker and speaker_of(s.passage) in speakers_quoted
                if intent.wants_many and repeated and id(s) not in must:
                    continue  # several sources wanted: one passage per speaker
                anchors[s.passage.id] = [s]
                speakers_quoted.add(speaker_of(s.passage))
        return latest_first([grow(group, by_passage[pid]) for pid, group in anchors.items()])

    # ---- metadata from a record's header ----

    def from_headers(self, question: str, follow: FollowUp, intent: Intent, hits: list[Hit]) -> Answer | None:
        """'Who chaired the 590th meeting?': the header's own line, e.g. 'Chair: Ms. Diallo'."""
        doc_ids = intent.documents or [h.passage.doc_id for h in hits]
        question_stems = set(stems(question))
        found = []
        for doc_id in dict.fromkeys(doc_ids):
            header = self.headers.get(doc_id)
            spans = (
                [span for asks in intent.fields for span in header_spans(header, asks, question_stems)]
                if header
                else []
            )
            spans = list(dict.fromkeys(spans))  # each line once, in the question's order
            if spans:
                found.append((header, spans))
        if not found:
            return None
        if not intent.documents:  # the best-ranked record whose line best echoes the question ('the discussion began')
            found = [max(found, key=lambda item: len(question_stems & set(stems(item[0].text[slice(*item[1][0])]))))]
        found.sort(key=lambda item: item[0].date or "", reverse=True)
        citations, parts = [], []
        for header, spans in found:
            lines = []
            for start, end in spans:
                quote = header.text[start:end]
                citations.append(Citation.of(len(citations) + 1, header, quote, 1.0))
                lines.append(
                    "; ".join(f"“{line}”" for line in quote.split("\n") if line.strip()) + f" [{len(citations)}]"
                )
            symbol = f"The symbol of this record is {header.document}. " if intent.asks == "symbol" else ""
            said = "; ".join(lines)
            parts.append(f"{symbol}The header of {header.document} ({human_date(header.date)}) reads: {said}.")
        return self.finish(question, follow, " ".join(parts), citations, hits)

    # ---- composing ----

    def compose(
        self, question: str, follow: FollowUp, groups: list[list[Scored]], hits: list[Hit], intent: Intent
    ) -> Answer:
        citations, parts = [], []
        quoted: set[str] = set()
        for group in groups:
            passage, span = group[0].passage, quote_of(group)
            score = max(s.score for s in group)
            items = self.list_items(passage) if span.rstrip().endswith(":") else []
            items += self.grounding.answering_footnotes(intent, passage, span)  # '280 million' is dated in fn. 3
            for p, quote in [(passage, span), *((item, item.text) for item in items)]:
                if p.id in quoted:
                    continue
                quoted.add(p.id)
                citations.append(Citation.of(len(citations) + 1, p, quote, score))
                parts.append(self.attributed(p, quote, len(citations)))
        return self.finish(question, follow, "\n".join(parts), citations, hits)

    def list_items(self, passage: Passage) -> list[Passage]:
        """The paragraphs a passage ending in ':' introduces ('Five relevant documents have been developed ...:'):
        the next ones of its section, up to LIST_ITEMS."""
        following = self.in_order.get(passage.doc_id, [])[passage.order + 1 : passage.order + 1 + LIST_ITEMS]
        items: list[Passage] = []
        for p in following:
            if p.section != passage.section or p.kind != "paragraph":
                break
            if items and item_shape(p) != item_shape(items[0]) and items[-1].text.rstrip().endswith("."):
                break  # '(e) ... de Mora.' closed the list; 'The CMW Secretariat has also ...' is prose again
            items.append(p)
        return items

    def attributed(self, passage: Passage, quote: str, n: int) -> str:
        """'On 27 September 2022, Mr. Flynn (Global Detention Project) said that “...” [1]'."""
        when = on_date(passage.date)
        who = self.speaker_name(passage)
        if not who:
            return f"According to {self.document_name(passage)} ({human_date(passage.date)}): “{quote}” [{n}]"
        who = re.sub(r"^The ", "the ", who)
        lead = reported_speech_lead(quote, passage)
        if not lead and quote.startswith(passage.speaker or "\0"):
            return f"{when}: “{quote}” [{n}]"  # the record names the speaker itself: 'Mr. Salama (...) asked ...'
        if not lead:
            return f"{when}, {who} said: “{quote}” [{n}]"
        rest = quote[len(lead) :].strip()
        lead_text = re.sub(r"^The Chair(person)?", who, lead.strip()) if is_chair(passage.speaker) else lead.strip()
        return f"{when}, {lead_text} “{rest}” [{n}]"

    def document_name(self, passage: Passage) -> str:
        """What a reader calls a document: its symbol ('CMW/C/SR.506'), else a name made from its kind and title."""
        documents = getattr(getattr(self.retriever, "index", None), "documents", {})
        document = documents.get(passage.doc_id)
        return readable_name(document) if document and not document.symbol else passage.document

    def speaker_name(self, passage: Passage) -> str | None:
        """'Mr. Flynn (Global Detention Project)'; the Chair with the name the record's header gives."""
        if not passage.speaker:
            return None
        who = passage.speaker
        chair = self.facts.chair_of(passage)
        if chair:
            who = f"{who} ({chair})"
        return f"{who} ({passage.affiliation})" if passage.affiliation else who

    def finish(self, question: str, follow: FollowUp, text: str, citations: list[Citation], hits: list[Hit]) -> Answer:
        citations = verified(citations)
        if not citations:
            return self.abstain(question, follow, hits, "no quote could be verified")
        cited = {c.label for c in citations}
        related = self.related([h for h in hits if h.passage.label not in cited])
        return Answer(question, text, False, citations, related, "extractive", None, follow.question)

    def abstain(self, question: str, follow: FollowUp, hits: list[Hit], reason: str | None) -> Answer:
        because = f" ({reason})" if reason else ""
        text = f"The records in this corpus do not answer this question{because}."
        related = self.related(hits)
        if related:
            text += " The closest passages are listed as related."
        return Answer(question, text, True, [], related, "extractive", None, follow.question)

    def related(self, hits: list[Hit]) -> list[Citation]:
        """The closest passages, each with its first sentence as the quote."""
        out = []
        for hit in hits[:RELATED]:
            p = hit.passage
            spans = sentence_spans(p.text) or [(0, len(p.text))]
            out.append(Citation.of(len(out) + 1, p, p.text[spans[0][0] : spans[0][1]], hit.score))
        return verified(out)

    def candidates_for_generation(self, answer: Answer) -> list[Passage]:
        """The passages an LLM is shown: those quoted, then the related ones."""
        by_label = {p.label: p for p in self.retriever.passages}
        labels = [c.label for c in answer.citations + answer.related]
        return [by_label[label] for label in dict.fromkeys(labels) if label in by_label]


# ---- helpers ----


def reported_speech_lead(quote: str, passage: Passage) -> str | None:
    """'Mr. Flynn (Global Detention Project) said that, ' when the quote opens with its own speaker."""
    speaker = passage.speaker or ""
    if not speaker or not quote.startswith(speaker.split(" (")[0]):
        return None
    match = re.match(r"^(.{0,400}?\bsaid that,?\s)", quote)
    return match.group(1) if match else None


def spreads(question: str, intent: Intent) -> bool:
    """Whether a question may find what it names in several passages: one of several parts ('..., and which objective
    did he stress?'), several sources wanted ('In what ways has the EU come up in 2013 and in 2022?'), or two times."""
    times = [c for c in intent.constraints if YEAR.fullmatch(c.text) or c.text.endswith("session")]
    return len(focus_parts(question, intent)) > 1 or intent.wants_many or len(times) > 1


def quote_of(group: list[Scored]) -> str:
    """The contiguous span a group of sentences of one passage quotes."""
    start, end = min(s.span[0] for s in group), max(s.span[1] for s in group)
    return group[0].passage.text[start:end]


def grow(anchors: list[Scored], sentences: dict[int, Scored]) -> list[Scored]:
    """The anchors and the sentences between them, then neighbours while they score nearly as well as the lead,
    or while the span is still very short: 'Several of the Compact's objectives referred to labour migration.'
    needs the next sentence, which names them. Headers are quoted line by line, never grown."""
    lead = max(anchors, key=lambda s: s.score)
    # a question naming the speaker asks what they said: their passage is quoted more fully
    longest, ratio = (
        (MAX_SENTENCES_SPEAKER, NEIGHBOUR_RATIO_SPEAKER)
        if lead.features.speaker
        else (MAX_SENTENCES_PER_QUOTE, NEIGHBOUR_RATIO)
    )
    low, high = min(s.index for s in anchors), max(s.index for s in anchors)
    span = [sentences[i] for i in range(low, high + 1) if i in sentences]
    if lead.passage.kind == "header":
        return [lead]
    last = max(sentences)
    if lead.passage.text.rstrip().endswith(":") and span[-1].index == last - 1:
        span.append(sentences[last])  # the sentence that introduces the list, which compose() then quotes
    while len(span) < longest:
        before, after = sentences.get(span[0].index - 1), sentences.get(span[-1].index + 1)
        short = sum(len(s.passage.text[s.span[0] : s.span[1]].split()) for s in span) < SHORT_SPAN_WORDS
        if short and after:
            span.append(after)
            continue
        near = max((s for s in (before, after) if s), key=lambda s: s.score, default=None)
        if near is None or near.score < lead.score * ratio:
            break
        span = sorted([*span, near], key=lambda s: s.index)
    return span


def readable_name(document: Document) -> str:
    """'the Committee's concept note on draft general comment No. 6' for a document without a symbol: its kind, its
    author (the body, when a committee) and its subject (the title, up to the number it names, else before ':')."""
    subject = document.title.split(":")[0].strip()
    numbered = re.match(r"(.*?\bNo\. ?\d+)", subject)
    subject = re.sub(
        r"\b(?!No\b)[A-Z][a-z]+\b", lambda m: m.group().lower(), numbered.group(1) if numbered else subject
    )
    if document.kind == "document":
        name = f"the {subject}"  # 'the report of the working group'
    else:
        author = "the Committee's" if (document.body or "").startswith("Committee") else "the"
        kind = document.kind.replace("_", " ")
        name = f"{author} {kind} on {subject}" if subject else f"{author} {kind}"
    return name if len(name) <= 90 else document.id


def speaker_of(passage: Passage) -> tuple:
    return passage.doc_id, passage.speaker, passage.affiliation


def item_shape(passage: Passage) -> str:
    """How a list item opens: '(a)' and '(b)' alike, 'Axis No. 1' and 'Axis No. 2' alike."""
    first = passage.text.split(maxsplit=1)[0] if passage.text.split() else ""
    return "(x)" if re.fullmatch(r"\(\w{1,4}\)", first) else first


def on_date(iso: str | None) -> str:
    """'On 27 September 2022', 'In September 2013', 'In 2022': as precise as the record's date."""
    text = human_date(iso)
    return f"On {text}" if text[:1].isdigit() and len(text.split()) == 3 else f"In {text}"


def latest_first(groups: list[list[Scored]]) -> list[list[Scored]]:
    """Where records of different dates answer about equally well, the latest comes first (with its date)."""
    if len(groups) < 2:
        return groups
    best = max(s.score for s in groups[0])
    close = [g for g in groups if best - max(s.score for s in g) <= LATEST_FIRST_MARGIN]
    rest = [g for g in groups if g not in close]
    if len({g[0].passage.date for g in close}) > 1:
        close.sort(key=lambda g: g[0].passage.date or "", reverse=True)
    return close + rest


HEADER_LINES = {
    "chair": r"^Chair(?:person)?: .+$",
    "date": r"^Held at .+$",
    "place": r"^Held at .+$",
    "start": r"^.*(?:called to order|began) at .+$",
    "end": r"^.*rose at .+$",
    "session": r"^.*\b\S+ session$",
    "issued": r"^(?:Issued: .+|\d{1,2} [A-Z][a-z]+ \d{4})$",
    "title": r"^(?:Summary record.*|.*Concept Note.*|Draft General Comment.*)$",
    "symbol": r"^(?:Symbol: .+|Summary record.*)$",  # a header that does not print the symbol: its title line
    "language": r"^Original: .+$",
    "unrecorded": r"^No summary records? (?:was|were) (?:prepared|issued).*$",
}


METADATA_LINE = re.compile("|".join([*HEADER_LINES.values(), r"^(?:Distr\.|Contents|GE\.)"]), re.M)


def header_spans(header: Passage, asks: str | None, question_stems: set[str] = frozenset()) -> list[tuple[int, int]]:
    """The header lines that answer: the asked-for line, and for a start time that the summary record gives only
    for its own part ('The discussion covered in the summary record began at 4.35 p.m.') the time the meeting was
    held ('Held at the Palais Wilson, Geneva, on Thursday, 17 April 2025, at 3 p.m.')."""
    span = header_span(header, asks, question_stems)
    if not span:
        return []
    held = re.search(r"^Held at .+, at \d.+$", header.text, re.M)
    if asks == "start" and "summary record" in header.text[slice(*span)] and held:
        return [span, (held.start(), held.end())]
    return [span]


def header_span(header: Passage, asks: str | None, question_stems: set[str] = frozenset()) -> tuple[int, int] | None:
    """Where in a header the asked-for line stands (of several, the one sharing most words with the question);
    the agenda is the lines under 'Contents'."""
    if asks == "agenda":
        match = re.search(r"^Contents\n((?:(?!No summary|The meeting|The discussion).+\n?)+)", header.text, re.M)
        return trim(header.text, match.start(1), match.end(1)) if match else None
    pattern = HEADER_LINES.get(asks or "")
    if not pattern:
        return None
    found = list(re.finditer(pattern, header.text, re.M))
    if not found:
        return None
    if asks in ("title", "unrecorded") and len(found) > 1:  # adjacent lines, quoted together
        return found[0].start(), found[-1].end()
    line = max(found, key=lambda m: len(question_stems & set(stems(m.group()))))  # first of equals
    return line.start(), line.end()


def verified(citations: list[Citation]) -> list[Citation]:
    """Only quotes that are verbatim substrings of their passage's text leave this module."""
    return [c for c in citations if c.quote and c.quote in c.text]
