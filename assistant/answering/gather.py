"""Gather evidence: every sentence of the retrieved passages, scored against each part of the question.

A sentence is read in its context: its passage's speaker (carried over from earlier paragraphs by the parser),
affiliation, section and the footnotes it calls count as what the sentence mentions. What the question names
(speakers, States, years, instruments) boosts the passages that mention it; nothing is filtered out here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from assistant.answering.knowledge import AGENDA_WORDS, HEADER_LEXICON, Knowledge, close_spelling, is_chair, states_in
from assistant.answering.read import Reading
from assistant.passages import Passage
from assistant.retrieval import Hit
from assistant.text import MONTHS, fold, stems, words

MONTH = rf"(?:{'|'.join(MONTHS)})"  # a month's name
NUMBER_WORDS = r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozen"
# What a sentence must hold to answer a question of each type.
TYPE_EVIDENCE: dict[str, re.Pattern] = {
    "share": re.compile(
        r"\bper ?cent\b|%|\b(?:one|two|three) in (?:two|three|four|five|ten)\b|\b(?:a|one|two|three)[ -](?:half|thirds?"
        r"|quarters?|fifths?)\b|\bhalf (?:of|the)\b|\bmajority\b",
        re.I,
    ),
    "amount": re.compile(
        r"[$€£]\s?\d|\b(?:USD|CHF|EUR|US\$)\s?\d|\d[\d,.]*\s?(?:million |billion )?(?:USD|CHF|EUR|dollars|francs|euros)\b",
        re.I,
    ),
    "number": re.compile(rf"\d|\b(?:{NUMBER_WORDS})\b(?!-)", re.I),
    "date": re.compile(rf"\b(?:{MONTH}|1[89]\d\d|20\d\d)\b"),
    "time": re.compile(r"\b\d{1,2}(?:[.:]\d{2})?\s?[ap]\.m\.|\bnoon\b|\bmidnight\b", re.I),
    "person": re.compile(r"\b(?:Mr|Ms|Mrs|Dr|Prof)\.? [A-ZÀ-Ý]|\bChair(?:person)?: "),
    "article": re.compile(r"\barticles? \d+", re.I),
    "document": re.compile(
        r"\b(?:general (?:comment|recommendation)s?|resolutions?|[A-Z]{2,}/[A-Z0-9/.]+|reports?|Conventions?|Protocols?)\b"
    ),
    "place": re.compile(rf"\b(?:Held at|Palais|Geneva|New York|in (?!{MONTH}\b)[A-Z][a-z]+)\b"),  # not 'in April'
    # English causal connectives: a reason is given with one of them ('since' and 'as' are too often of time)
    "reason": re.compile(
        r"\b(?:because|owing to|due to|given (?:that|the)|in order to|so as to|so that|reasons?|as a result|in view of"
        r"|in (?:the )?light of|on the grounds?|led to|caused?"
        r"|result(?:s|ed)? (?:in|from))\b",
        re.I,
    ),
}


ON_TOPIC = 0.5  # a sentence's cosine with the part at which a single shared word counts fully


AGENDA_LINE = len(HEADER_LEXICON) + 1  # the kind of every item of a record's contents


class HeaderLine(NamedTuple):
    kind: int  # 1-based position in HEADER_LEXICON of the first pattern it matches; AGENDA_LINE; 0 for others
    words: set[str]  # the stems it answers to besides its own: 'The meeting rose at 5.55 p.m.' -> finish, end...


def header_lines(lines: list[str]) -> list[HeaderLine]:
    """What each line of a record's header is, and the words it answers to. The lines of its contents are agenda
    items whatever they say ('Closure of the session')."""
    found, in_contents = [], False
    for line in lines:
        matching = [i for i, (pattern, _) in enumerate(HEADER_LEXICON, start=1) if pattern.search(line)]
        extra = " ".join(HEADER_LEXICON[i - 1][1] for i in matching)
        if re.match(r"^(?:No summary|The meeting|The discussion)", line):
            in_contents = False
        kind = AGENDA_LINE if in_contents else matching[0] if matching else 0
        if in_contents:
            extra += " " + AGENDA_WORDS
        in_contents = in_contents or line.strip() == "Contents"
        found.append(HeaderLine(kind, set(stems(extra))))
    return found


# A whole instance of a kind, to compare with what the question itself gives: 'Who took over from Ms. Diallo?' is not
# answered by a sentence that names only Ms. Diallo, nor 'On what date in December 2025 ...?' by 'in December 2025'
PERSON_NAME = re.compile(
    r"\b(?:Mr|Ms|Mrs|Dr|Prof)\.? ([A-ZÀ-Ý][\w'’\-]+)|\bChair(?:person)?: (?:\w+\.? )?([A-ZÀ-Ý][\w'’\-]+)"
)
# 'Who ...?' and 'Which body ...?' may be answered by a body, named as a person is, by its name or acronym ('the
# Secretary-General', 'ILO', 'the Human Rights Council'), not at a sentence's start
BODY_NAME = re.compile(
    r"(?<=[a-z,;] )((?:[A-Z]{2,}|[A-Z][a-z]+-[A-Z][a-z]+)(?: [A-Z][\w\-]+)*|[A-Z][a-z]+(?: (?:of |for |on |and )?[A-Z][\w\-]+)+)"
)
DATE = re.compile(rf"\b(?:\d{{1,2}} )?{MONTH}(?: \d{{1,2}}\b,?)?(?: (?:1[89]|20)\d\d)?|\b(?:1[89]|20)\d\d\b")
# What a date (a DATE match) must hold to be of the unit a question asks for (read.Part.grain)
DATE_GRAINS = {
    "day": re.compile(r"(?<!\d)\d{1,2}(?!\d)"),
    "month": re.compile(rf"\b{MONTH}\b"),
    "year": re.compile(r"\b(?:1[89]|20)\d\d\b"),
}


SHARE_FIGURE = re.compile(r"\d\s?(?:%|per ?cent\b)", re.I)  # what a share of grain 'figure' must hold: '15 per cent'


def of_grain(date: str, grain: str) -> bool:
    """Whether a date is as precise as asked: 'December 2025' gives no day."""
    return not grain or bool(DATE_GRAINS[grain].search(date))


def has_type(
    sentence: str,
    kind: str,
    counted: frozenset[str] = frozenset(),
    given: str = "",
    bodies: bool = False,
    grain: str = "",
) -> bool:
    """Whether a sentence holds the kind of thing asked for, other than what the question gives (`given`, folded);
    for a count, a number of what is counted (its stems); for a person, with `bodies`, a body named as one is; for a
    date or a share, one of the `grain` asked for."""
    if kind == "state":
        return bool(set(states_in(sentence)) - set(states_in(given)))
    if kind == "number" and counted:
        return counts(sentence, counted, given)
    if kind == "person":
        names = [a or b for a, b in PERSON_NAME.findall(sentence)] + (BODY_NAME.findall(sentence) if bodies else [])
        return any(not echoes(name, given) for name in names)
    if kind == "date":
        return any(not echoes(m, given) and of_grain(m, grain) for m in DATE.findall(sentence))
    if kind == "share" and grain == "figure":
        return bool(SHARE_FIGURE.search(sentence))
    if kind == "number":
        return any(not echoes(t, given) for t in words(sentence) if TYPE_EVIDENCE["number"].match(t))
    pattern = TYPE_EVIDENCE.get(kind)
    if not pattern:
        return False
    if kind in ("document", "place", "reason"):  # words, not instances: 'general comment', 'Geneva', 'because'
        return bool(pattern.search(sentence))
    return any(not echoes(m.group(), given) for m in pattern.finditer(sentence))


def asked(question: str) -> str:
    """The question's own words, folded: what it gives, which is no answer to it (has_type's `given`)."""
    return " ".join(fold(w) for w in words(question))


def echoes(text: str, given: str) -> bool:
    """Whether the question (its folded words, `given`) says this already."""
    said = " ".join(fold(w) for w in words(text))
    return bool(said) and f" {said} " in f" {given} "


# A number and what it counts are in one clause: 'in April 2019, the United Nations Committee' counts no nations
CLAUSE_BREAK = re.compile(r"[;:()\[\]]|,(?!\d)")


def counts(sentence: str, counted: frozenset[str], given: str = "") -> bool:
    """A number followed, within three words, by what the question counts: '60 States parties' and '169 million of
    the total global migrant population' answer 'How many ...?' of them, where a number of anything else ('on 21
    February', 'article 7') does not. Stopwords and number words ('million of the') are not counted in the three.
    A number the question gives is no answer to it."""
    number = TYPE_EVIDENCE["number"]

    def near(side: list[str]) -> list[str]:
        return [s for s in stems(" ".join(side)) if not number.match(s)]

    for clause in CLAUSE_BREAK.split(sentence):
        tokens = words(clause)
        if any(
            number.match(token) and not echoes(token, given) and counted & set(near(tokens[i + 1 : i + 8])[:3])
            for i, token in enumerate(tokens)
        ):
            return True
    return False


@dataclass(frozen=True)
class Weights:
    """How a sentence's score is made: meaning first, then the question's words in it and its passage."""

    cosine: float = 0.35
    passage_cosine: float = 0.15
    sentence_words: float = 0.20
    passage_words: float = 0.20
    rank: float = 0.05
    speaker: float = 0.20
    named: float = 0.15
    header_line: float = 0.15
    answer_type: float = 0.20
    is_question: float = -0.10
    own_instrument: float = 0.10


@dataclass
class Evidence:
    """One sentence of one retrieved passage, scored against one part of the question."""

    hit: Hit
    part: int
    index: int  # sentence position in its passage
    span: tuple[int, int]
    cosine: float
    passage_cosine: float
    sentence_words: float  # IDF-weighted share of the part's focus words in the sentence
    passage_words: float  # ... in the passage with its speaker, affiliation, section and footnotes
    by_speaker: bool  # the passage's speaker is one the question names
    named: float  # share of the question's named constraints that the passage mentions
    typed: bool  # the sentence holds the kind of thing asked for
    own_record: bool = False  # the passage is of a record the question names (its header speaks for it)
    own_instrument: bool = False  # ... of a general comment or recommendation it names, not a text citing one
    header_line: int = 0  # for a header line of the kind the part asks about ('rose at': 'finish'), its kind + 1
    context_stems: frozenset = frozenset()  # the stems of the passage's context (shared by its sentences)
    header_share: float = 0.0  # for a header line, the (IDF-weighted) share of the part's words it answers to: its
    # bonus is as large as that part of the question ('finish' of 'When did the meeting finish?', not 'closing' of
    # 'How did the Chair describe the finances at the closing meetings?')
    score: float = 0.0

    @property
    def passage(self) -> Passage:
        return self.hit.passage

    @property
    def text(self) -> str:
        return self.passage.text[self.span[0] : self.span[1]]


class PassageWords(NamedTuple):
    own: frozenset[str]  # stems of the speaker's name, affiliation and the Chair's name
    lines: list[HeaderLine] | None  # a header's lines: their kinds and the words of their kinds ('rose', 'finish')
    context: frozenset[str]  # stems of the passage with its speaker, section, title and footnotes
    sentences: list[frozenset[str]]  # stems of each sentence


class Gatherer:
    def __init__(self, knowledge: Knowledge, sentences, weights: Weights | None = None):
        self.knowledge = knowledge
        self.sentences = sentences
        self.weights = weights or Weights()
        self.by_label = {(p.doc_id, p.paragraph): p for p in knowledge.passages}
        self.contexts: dict[str, str] = {}
        self.words: dict[str, PassageWords] = {}

    def context(self, passage: Passage) -> str:
        """What a passage mentions: its text, speaker, the Chair's name, affiliation, section, document title,
        date, and the footnotes it calls."""
        cached = self.contexts.get(passage.id)
        if cached is None:
            notes = [self.by_label.get((passage.doc_id, label)) for label in passage.footnotes]
            cached = " ".join(
                filter(
                    None,
                    [
                        passage.text,
                        passage.speaker,
                        self.knowledge.chair_of(passage),
                        passage.affiliation,
                        passage.section,
                        passage.title,
                        passage.document,  # its symbol: 'CED', 'CAT' name the document
                        passage.date,
                        *(n.text for n in notes if n),
                    ],
                )
            )
            self.contexts[passage.id] = cached
        return cached

    def words_of(self, passage: Passage) -> PassageWords:
        """A passage's stems, read once per process: they do not depend on the question."""
        cached = self.words.get(passage.id)
        if cached is None:
            # the speaker's own name in a sentence is no evidence that the sentence answers: it counts once, above
            own = frozenset(
                stems(" ".join(filter(None, [passage.speaker, passage.affiliation, self.knowledge.chair_of(passage)])))
            )
            sentences = [passage.text[a:b] for a, b in self.sentences.spans[passage.id]]
            lines = header_lines(sentences) if passage.kind == "header" else None
            context_stems = frozenset(stems(self.context(passage))).union(*(line.words for line in lines or []))
            sentence_stems = [
                frozenset(stems(sentence)) | (lines[i].words if lines else frozenset())
                for i, sentence in enumerate(sentences)
            ]
            cached = self.words[passage.id] = PassageWords(own, lines, context_stems, sentence_stems)
        return cached

    def mentions(self, passage: Passage, kind: str, value: str) -> bool:
        """Whether a passage (in its context) mentions one thing the question names."""
        context = self.context(passage)
        if kind == "person":
            return any(close_spelling(value, w) for w in words(context) if w[:1].isupper())
        if kind == "state":
            return value in states_in(context)
        if kind == "numbered":
            return bool(re.search(rf"(?<![\d/]){re.escape(value)}(?![\d/])", context))
        folded = fold(context)
        if kind == "name" and value.isupper() and value in self.knowledge.acronyms:
            spelt = fold(self.knowledge.acronyms[value])
            return fold(value) in folded.split() or spelt in folded
        return fold(value) in folded or (len(value) >= 6 and fold(value)[: len(value) - 2] in folded)

    def named_share(self, passage: Passage, constraints: list[tuple[str, str]]) -> float:
        if not constraints:
            return 1.0
        return sum(self.mentions(passage, kind, value) for kind, value in constraints) / len(constraints)

    def focus_stems(self, focus: str) -> dict[str, float]:
        """A part's words weighted by rarity. A word no passage uses can match no sentence: the judge weighs it
        ('unknown'), the scores here do not."""
        weighted = self.knowledge.weighted_stems(focus)
        return {s: w for s, w in weighted.items() if s in self.knowledge.stem_df} or weighted

    def gather(self, reading: Reading, hits: list[Hit], part_vectors: np.ndarray) -> list[list[Evidence]]:
        """For each part, every sentence of the hits scored against it, best first."""
        passages = [h.passage for h in hits]
        self.sentences.of(passages)
        speakers = {(s.doc_id, s.name, s.affiliation) for s in reading.speakers}
        focus = [self.focus_stems(p.focus) for p in reading.parts]
        counted = [frozenset(stems(p.counted)) for p in reading.parts]
        given = asked(reading.question)
        found: list[list[Evidence]] = [[] for _ in reading.parts]
        for hit in hits:
            p = hit.passage
            cosines = self.sentences.vectors[p.id] @ part_vectors.T  # (sentences, parts)
            passage_cosine = float(hit.dense_score) if hit.dense_score is not None else float(cosines.max())
            by_speaker = (p.doc_id, p.speaker, p.affiliation) in speakers
            named = [self.named_share(p, reading.constraints_of(j)) for j in range(len(reading.parts))]
            own, lines, context_stems, sentence_stems = self.words_of(p)
            for i, (start, end) in enumerate(self.sentences.spans[p.id]):
                sentence = p.text[start:end]
                for j, part in enumerate(reading.parts):
                    wanted = {s: w for s, w in focus[j].items() if s not in own}
                    evidence = Evidence(
                        hit=hit,
                        part=j,
                        index=i,
                        span=(start, end),
                        cosine=float(cosines[i, j]),
                        passage_cosine=passage_cosine,
                        sentence_words=lexical_share(wanted, sentence_stems[i], float(cosines[i, j])),
                        passage_words=share(focus[j], context_stems),
                        by_speaker=by_speaker,
                        named=named[j],
                        typed=has_type(sentence, part.answer_type, counted[j], given, grain=part.grain),
                        header_line=lines[i].kind if lines and lines[i].words & wanted.keys() else 0,
                        header_share=share(wanted, lines[i].words) if lines else 0.0,
                        own_record=p.doc_id in reading.documents,
                        own_instrument=p.doc_id in reading.instruments,
                        context_stems=context_stems,
                    )
                    evidence.score = self.score(evidence, sentence)
                    found[j].append(evidence)
        return [sorted(evidence, key=lambda e: -e.score) for evidence in found]

    def score(self, e: Evidence, sentence: str) -> float:
        w = self.weights
        return (
            w.cosine * e.cosine
            + w.passage_cosine * e.passage_cosine
            + w.sentence_words * e.sentence_words
            + w.passage_words * e.passage_words
            + w.rank / math.sqrt(e.hit.rank)
            + w.speaker * e.by_speaker
            + w.named * e.named
            + w.answer_type * e.typed
            + w.header_line * e.header_share * (1 + e.own_record)
            + w.own_instrument * e.own_instrument
            + w.is_question * sentence.rstrip().endswith("?")
        )


def lexical_share(weighted: dict[str, float], present: set[str], cosine: float) -> float:
    """share(), discounted when a sentence meets a question of three or more words in one word only and is far from
    it in meaning: 'join' alone makes 'join national trade unions' look like an answer to 'Why do so few States join
    the Convention?'. Two shared words are evidence enough whatever the embedding says."""
    found = share(weighted, present)
    single = len(weighted.keys() & present) == 1 and len(weighted) >= 3
    return found * min(1.0, max(0.0, cosine) / ON_TOPIC) if single else found


def share(weighted: dict[str, float], present: set[str]) -> float:
    """IDF-weighted share of a part's words present in a text."""
    total = sum(weighted.values())
    return sum(w for s, w in weighted.items() if s in present) / total if total else 0.0


def speaker_key(passage: Passage) -> tuple:
    return passage.doc_id, passage.speaker, passage.affiliation


__all__ = [
    "asked",
    "DATE",
    "echoes",
    "Evidence",
    "Gatherer",
    "has_type",
    "is_chair",
    "MONTH",
    "of_grain",
    "speaker_key",
    "Weights",
]
