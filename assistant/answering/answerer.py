"""The answerer: read -> retrieve -> gather -> judge -> compose -> verify, one way, each stage in its own module."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

import numpy as np

from assistant.answering import compose
from assistant.answering.checker import Checker, pairs
from assistant.answering.gather import Evidence, Gatherer
from assistant.answering.judge import Features, Judge, features, unknown_words
from assistant.answering.knowledge import Knowledge
from assistant.answering.read import Reading, content_words, is_follow_up, read, strip_records
from assistant.answering.records import Answer, Citation, PartAnswer, QuestionError
from assistant.answering.verify import verified
from assistant.retrieval import Filters, Hit
from assistant.sentences import Sentences, sentence_spans
from assistant.settings import Settings
from assistant.text import has_visible_text

EACH_DOCUMENT = 4  # passages of each record a question compares that come first (Answerer.search)
PASSAGES_MANY = 16  # passages read for a list or multi-part question (else settings.answer_passages)
RELATED = 3  # closest passages offered beside an answer or an abstention
FOOTNOTE_HITS = 5  # passages whose footnotes are read with them
HISTORY_TURNS = 3  # earlier turns read to resolve a follow-up
RECORD_ANAPHORA = re.compile(
    r"\b(?:that|this|the same) (?:meeting|session|record|document|discussion|note|comment|recommendation)\b|\bit\b"
    r"|\bthere\b|^\W*(?:when|where) was (?:that|this)\b",
    re.I,
)


@dataclass
class Draft:
    """A question on its way to an answer: read, searched, gathered and judged (the eval scripts read it too)."""

    question: str
    resolved: str  # the question with an earlier turn's topic carried in: what is searched
    reading: Reading
    hits: list[Hit]
    evidence: list[list[Evidence]] = field(default_factory=list)  # per part, best first
    features: list[Features] = field(default_factory=list)  # per part
    probabilities: list[float] = field(default_factory=list)  # per part


class Answerer:
    def __init__(self, retriever, settings: Settings, judge: Judge | None = None, checker: Checker | None = None):
        self.retriever = retriever
        self.settings = settings
        self.knowledge = Knowledge.collect(retriever.passages)
        self.sentences = Sentences(retriever.embedder)
        self.gatherer = Gatherer(self.knowledge, self.sentences)
        self.judge = judge or Judge.load()
        self.checker = checker or Checker.load()
        self.headers = {p.doc_id: p for p in retriever.passages if p.kind == "header"}
        self.documents = getattr(getattr(retriever, "index", None), "documents", {})
        self.in_order: dict[str, list] = {}
        for p in sorted(retriever.passages, key=lambda p: (p.doc_id, p.order)):
            self.in_order.setdefault(p.doc_id, []).append(p)

    # ---- public ----

    def ask(
        self, question: str, history: list[dict] | None = None, k: int | None = None, filters: Filters | None = None
    ) -> Answer:
        draft = self.draft(question, history, k, filters)
        answer = self.compose(draft)
        if self.settings.llm_base_url and not answer.abstained:
            from assistant.generation import generate_answer

            answer = generate_answer(answer, self.passages_for_generation(answer), self.settings)
        return answer

    def draft(
        self, question: str, history: list[dict] | None = None, k: int | None = None, filters: Filters | None = None
    ) -> Draft:
        """Everything an answer is made from: the question read, the passages found, the evidence judged."""
        question = self.check_question(question)
        resolved, carried = self.follow_up(question, history or [])
        reading = read(resolved, self.knowledge)
        if carried and not reading.documents:
            reading.documents = carried
        many = reading.wants_list or len(reading.parts) > 1
        k = k or (max(self.settings.answer_passages, PASSAGES_MANY) if many else self.settings.answer_passages)
        query = " ".join([strip_records(resolved) if reading.documents else resolved, *reading.expansions])
        parts = [p.scored_text for p in reading.parts]
        # one at a time, each through the recent-query cache: on a query's one thread a batch only adds padding
        # (a question of 34 word pieces and parts of 20 and 13: 16 ms as a batch, 11 ms apart)
        vectors = np.stack([self.retriever.embedder.encode_query(text) for text in [query, *parts]])
        hits = self.search(query, k, filters, reading, vectors[0])
        hits += self.named_headers(reading, hits)
        hits += self.called_footnotes(hits)
        draft = Draft(question, resolved, reading, hits)
        if hits:
            draft.evidence = self.gatherer.gather(reading, hits, np.asarray(vectors[1:]))
            checked = self.checker.logits(pairs(resolved, draft.evidence))
            draft.features = [
                features(reading, j, ev, hits, self.knowledge, self.gatherer, checked[j])
                for j, ev in enumerate(draft.evidence)
            ]
            draft.probabilities = [self.judge.probability(f) for f in draft.features]
        return draft

    def resolve_question(self, question: str, history: list[dict] | None = None) -> str:
        """What a follow-up question is searched as (the eval runner reads this)."""
        return self.follow_up(self.check_question(question), history or [])[0]

    def check_question(self, question: object) -> str:
        if not isinstance(question, str) or not has_visible_text(question):
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

    def follow_up(self, question: str, history: list[dict]) -> tuple[str, list[str]]:
        """Carry the previous turn's topic (and its record, when the question points at it) into a question that
        points back ('And what did she say about children?', 'When was that?')."""
        turns = [t for t in history[-HISTORY_TURNS:] if isinstance(t, dict) and isinstance(t.get("question"), str)]
        turns = [t for t in turns if t["question"].strip()]
        if not turns or not is_follow_up(read(question, self.knowledge)):
            return question, []
        previous = turns[-1]
        earlier, carried = self.follow_up(" ".join(previous["question"].split()), turns[:-1])
        earlier_reading = read(earlier, self.knowledge)
        documents = earlier_reading.documents or carried or self.cited_documents(previous)
        own = {w.lower() for w in content_words(question)}
        terms = [w for w in content_words(re.sub(r"\[.*?\]", " ", earlier)) if w.lower() not in own]
        resolved = f"{question} [{' '.join(dict.fromkeys(terms))}]" if terms else question
        return resolved, documents[:1] if RECORD_ANAPHORA.search(question) else []

    def cited_documents(self, turn: dict) -> list[str]:
        """The record of a turn's first citation, as a client sends the turn back."""
        given = turn.get("citations")
        citations = [c for c in given if isinstance(c, dict)] if isinstance(given, list) else []
        by_name = {name: doc_id for doc_id, name in self.knowledge.names.items()}
        found = []
        for c in citations:
            doc_id, name = c.get("doc_id"), c.get("document")
            doc_id = doc_id if isinstance(doc_id, str) else by_name.get(name) if isinstance(name, str) else None
            if doc_id in self.knowledge.names:
                found.append(doc_id)
        return found[:1]

    # ---- retrieval scope ----

    def scoped(self, filters: Filters | None, reading: Reading) -> Filters | None:
        """The records a question names limit the search, unless the caller chose documents already."""
        if not reading.documents:
            return filters
        if filters is None:
            return Filters(document=list(reading.documents))
        if filters.document:
            return filters
        return replace(filters, document=list(reading.documents))

    def search(self, query: str, k: int, filters: Filters | None, reading: Reading, vector: np.ndarray) -> list[Hit]:
        """The passages that best answer the question. One that names several records (or, naming none, several
        general comments) compares them: each one's best passages come first, in turn, so that one record's many close
        passages do not crowd out another's."""
        scoped = self.scoped(filters, reading)
        hits = self.retriever.search(query, k=k, filters=scoped, vector=vector)
        named = reading.documents or reading.instruments
        if len(named) < 2 or (filters and filters.document):
            return hits
        each = [
            self.retriever.search(
                query, k=EACH_DOCUMENT, filters=replace(scoped or Filters(), document=[d]), vector=vector
            )
            for d in named
        ]
        first: dict[str, Hit] = {}
        for hit in [found[i] for i in range(EACH_DOCUMENT) for found in each if i < len(found)] + hits:
            first.setdefault(hit.passage.id, hit)
        chosen = list(first.values())[: max(k, len(named) * EACH_DOCUMENT)]
        return [replace(hit, rank=rank) for rank, hit in enumerate(chosen, start=1)]

    def named_headers(self, reading: Reading, hits: list[Hit]) -> list[Hit]:
        """The header of each record the question names, when the search did not bring it."""
        found = {h.passage.id for h in hits}
        extra = [self.headers[d] for d in reading.documents if d in self.headers and self.headers[d].id not in found]
        return [Hit(p, 0.0, len(hits) + i, None, None, None, None) for i, p in enumerate(extra, start=1)]

    def called_footnotes(self, hits: list[Hit]) -> list[Hit]:
        """The footnotes the top passages call, when the search did not bring them: a list the text leaves to a note
        ('With limited exceptions ...' and its footnote naming them) is read, scored and quoted like any sentence."""
        found = {h.passage.id for h in hits}
        extra: list = []
        for hit in hits[:FOOTNOTE_HITS]:
            for label in hit.passage.footnotes:
                note = self.gatherer.by_label.get((hit.passage.doc_id, label))
                if note is not None and note.id not in found:
                    found.add(note.id)
                    extra.append(note)
        return [Hit(p, 0.0, len(hits) + i, None, None, None, None) for i, p in enumerate(extra, start=1)]

    # ---- composing ----

    def compose(self, draft: Draft) -> Answer:
        reading, evidence = draft.reading, draft.evidence
        if not draft.probabilities:
            return self.abstain(draft, "no passage matches it")
        answered = [self.judge.answers(p) for p in draft.probabilities]
        if not any(answered):
            return self.abstain(draft, self.why_not(draft))
        many = reading.wants_list or len(reading.parts) > 1
        citations: list[Citation] = []
        by_passage: dict[str, Citation] = {}
        directs: list[str] = []
        parts: list[PartAnswer] = []
        lines: list[str] = []
        for j, part in enumerate(reading.parts):
            if not answered[j]:
                parts.append(PartAnswer(part.text, False, None, round(draft.probabilities[j], 3)))
                continue
            quotes = compose.choose_quotes(evidence[j], part, many)
            numbers = []
            for quote in quotes:
                cited = by_passage.get(quote.passage.id)
                if cited is None or not overlapping(cited, quote):
                    cited = compose.citation(len(citations) + 1, quote)
                    citations.append(cited)
                    by_passage.setdefault(quote.passage.id, cited)
                elif quote.text not in cited.quote:
                    cited.quote = merged_quote(cited, quote)
                numbers.append(cited.n)
                if quote.text.rstrip().endswith(":") and quote.span[1] >= len(quote.passage.text.rstrip()):
                    for item in compose.list_items(quote.passage, self.in_order.get(quote.passage.doc_id, [])):
                        if item.id not in by_passage:
                            by_passage[item.id] = Citation.of(len(citations) + 1, item, item.text, quote.score)
                            citations.append(by_passage[item.id])
            direct = None
            if quotes and part.answer_type != "text":
                span = compose.typed_span(part, quotes[0], self.knowledge)
                direct = f"{span} [{numbers[0]}]" if span else None
            if direct:
                directs.append(direct)
            parts.append(PartAnswer(part.text, True, direct, round(draft.probabilities[j], 3)))
        for cited in citations:
            passage = self.gatherer.by_label[(cited.doc_id, cited.paragraph)]
            lines.append(compose.attributed(passage, cited.quote, cited.n, self.knowledge, self.documents))
        missing = [p.question for p in parts if not p.answered]
        if missing:
            asked = "; ".join(re.sub(r"\s*\[.*?\]", "", m).rstrip("?") + "?" for m in missing)
            lines.append(f"The records do not answer this part of the question: {asked}")
        direct_line = "; ".join(directs) if directs else None
        text = "\n".join([*([direct_line + "."] if direct_line else []), *lines])
        citations = verified(citations)
        if not citations:
            return self.abstain(draft, "no quote could be verified")
        cited = {c.label for c in citations}
        related = self.related([h for h in draft.hits if h.passage.label not in cited])
        confidence = round(max(p for p, a in zip(draft.probabilities, answered, strict=True) if a), 3)
        return Answer(
            draft.question,
            text,
            False,
            citations,
            related,
            "extractive",
            None,
            draft.resolved,
            direct=direct_line,
            confidence=confidence,
            parts=parts if len(parts) > 1 else [],
        )

    def why_not(self, draft: Draft) -> str | None:
        """The strongest reason the evidence falls short, said plainly (for the user; the judge decided)."""
        reading = draft.reading
        if reading.unheld:
            return "the corpus holds no record of " + ", ".join(reading.unheld)
        unknown = unknown_words(reading, self.knowledge)
        if unknown:
            return "the records never mention " + ", ".join(unknown)
        top = draft.evidence[0][:15] if draft.evidence else []
        best = max(top, key=lambda e: e.named, default=None)
        if best is not None and reading.constraints and best.named < 1:
            unmet = [v for k, v in reading.constraints if not self.gatherer.mentions(best.passage, k, v)]
            if unmet:
                return "no passage close to the question mentions " + " and ".join(unmet)
        return None

    def abstain(self, draft: Draft, reason: str | None) -> Answer:
        because = f" ({reason})" if reason else ""
        text = f"The records in this corpus do not answer this question{because}."
        related = self.related(draft.hits, draft.evidence[0] if draft.evidence else [])
        if related:
            text += f" The closest they come: “{related[0].quote}” ({related[0].label}); related passages are listed."
        confidence = round(max(draft.probabilities), 3) if draft.probabilities else 0.0
        return Answer(
            draft.question, text, True, [], related, "extractive", None, draft.resolved, confidence=confidence
        )

    def related(self, hits: list[Hit], evidence: list[Evidence] | None = None) -> list[Citation]:
        """The closest passages, each with its best sentence (or its first) as the quote; with evidence, the passage
        whose sentence scored best comes first (the closest the records come), not the first retrieved."""
        best_sentence, best_score = {}, {}
        for e in evidence or []:  # best first
            best_sentence.setdefault(e.passage.id, e.text)
            best_score.setdefault(e.passage.id, e.score)
        hits = sorted(hits, key=lambda h: -best_score.get(h.passage.id, -math.inf))  # stable: unscored keep their order
        out = []
        for hit in hits[:RELATED]:
            p = hit.passage
            spans = sentence_spans(p.text) or [(0, len(p.text))]
            quote = best_sentence.get(p.id) or p.text[spans[0][0] : spans[0][1]]
            out.append(Citation.of(len(out) + 1, p, quote, hit.score))
        return verified(out)

    def passages_for_generation(self, answer: Answer) -> list:
        """The passages an LLM is shown: those quoted, then the related ones."""
        by_label = {p.label: p for p in self.retriever.passages}
        labels = [c.label for c in answer.citations + answer.related]
        return [by_label[label] for label in dict.fromkeys(labels) if label in by_label]


def overlapping(cited: Citation, quote: compose.Quote) -> bool:
    """Whether a new quote of an already cited passage touches the quote cited (then the two become one)."""
    start = cited.text.index(cited.quote)
    end = start + len(cited.quote)
    return quote.span[0] <= end + 1 and quote.span[1] >= start - 1 or quote.passage.kind != "header"


def merged_quote(cited: Citation, quote: compose.Quote) -> str:
    """One passage answering two parts: its quote covers both spans (verbatim, from the first to the last)."""
    text = cited.text
    start = min(text.index(cited.quote), quote.span[0])
    end = max(text.index(cited.quote) + len(cited.quote), quote.span[1])
    return text[start:end]
