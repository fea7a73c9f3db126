"""Whether the passages an answer quotes hold what the question specifically asks, not only its topic.

Retrieval and sentence scoring find what is close in meaning; a near miss is close too. "Which States voted
against the Global Compact in December 2018?" is close to a passage on the Compact's adoption, and "Who won the
election for Chair at the thirtieth session?" to passages about the Chair. Two checks, both lexical and
explainable, turn such closeness into an abstention:

- names: every rare name, unheld session and year the question names (questions.Constraint) must be mentioned by
  one passage that answers it, with who spoke and where (a question of several parts may spread them over its
  passages);
- answer type: a 'How many ...?' quote must hold a number next to what is counted, a 'When ...?' quote a date or a
  time, a 'Which States ...?' quote the name of a State.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from assistant.passages import MONTHS, Passage
from assistant.questions import (
    ASKS_WHAT_WAS_SAID,
    NAMED_PERSON,
    NUMBER_WORDS,
    TYPE_EVIDENCE,
    Constraint,
    CorpusFacts,
    Intent,
    acronym,
    context_text,
    fold,
    stemmer,
    words,
)

NUMBER = re.compile(rf"^(?:\d[\d,.]*|{NUMBER_WORDS}|dozens?|hundreds|thousands|millions|billions?)$", re.I)
# Numbers that name rather than count: 'No. 6', 'article 21', 'resolution 73/195', '19 December 2018', '2022'
REFERENCE = re.compile(
    rf"\bNos?\.\s?\d[\d/]*|\b(?:arts?\.|articles?|paras?\.|paragraphs?|resolutions?|objectives?|decisions?|rules?)\s+"
    rf"\d[\w/.]*|\b\d{{1,2}}\s+(?:{'|'.join(MONTHS)})\s+\d{{4}}|\b(?:1[89]|20)\d\d\b|\S+/\S+"
    r"|\b\d{1,2}(?:[.:]\d{2})?\s?(?:-\s?\d{1,2}(?:[.:]\d{2})?\s?)?[ap]\.?m\b\.?|\bfrom \d{1,2} to \d{1,2}\b"
)
QUANTITIES = ("number", "share", "money")
WHAT_IS_ASKED = {
    "number": "a number",
    "share": "a proportion",
    "money": "an amount of money",
    "date": "when",
    "state": "names the States asked about",
    "vote": "how the vote went",
}
COUNT_WINDOW = 4  # a number counts a noun when it stands this close before it ('60 States Parties') ...
COUNT_WINDOW_AFTER = 3  # ... or this close after it ('migrant workers constitute around 169 million')


@dataclass
class Quoted:
    """One passage an answer would quote, and the span quoted."""

    passage: Passage
    quote: str
    score: float


class Grounding:
    """The words each passage mentions (with its speaker, affiliation, section, record and year), kept per passage."""

    def __init__(self, facts: CorpusFacts, passages: list[Passage]):
        self.facts = facts
        self.cache: dict[str, frozenset[str]] = {}
        self.by_label = {p.label: p for p in passages}
        self.headers = {p.doc_id: p for p in passages if p.kind == "header"}

    def mentioned_words(self, passage: Passage) -> frozenset[str]:
        if passage.id not in self.cache:
            context = [context_text(passage, self.facts), passage.title, passage.session, passage.document]
            context += [acronym(passage.affiliation or ""), (passage.date or "")[:4]]
            tokens = [fold(w) for w in words(" ".join(filter(None, context)))]
            self.cache[passage.id] = frozenset(tokens + [part for t in tokens if "-" in t for part in t.split("-")])
        return self.cache[passage.id]

    def meets(self, passage: Passage, constraint: Constraint) -> bool:
        if constraint.pattern:  # a number, in the passage or in its record's header: what the whole meeting is about
            header = self.headers.get(passage.doc_id)
            return any(re.search(constraint.pattern, fold(p.text)) for p in filter(None, [passage, header]))
        mentioned = self.mentioned_words(passage)
        return any(all(is_mentioned(w, mentioned) for w in group) for group in constraint.alternatives)

    def unmet(self, constraints: list[Constraint], passages: Iterable[Passage]) -> list[Constraint]:
        """The constraints none of these passages meets."""
        passages = list(passages)
        return [c for c in constraints if not any(self.meets(p, c) for p in passages)]

    def meets_all(self, passage: Passage, constraints: list[Constraint]) -> bool:
        return not self.unmet(constraints, [passage])

    def missing_answer(self, intent: Intent, quoted: list[Quoted]) -> str | None:
        """Why these quotes do not hold what the question asks for (None when they do). A quote is read with the
        footnotes its passage calls: 'more than 280 million' is dated 2020 by its footnote."""
        quotes = [" ".join([q.quote, *self.footnotes(q.passage)]) for q in quoted]
        if intent.counted and not any(counts(quote, intent.counted) for quote in quotes):
            return f"no passage found states how many {intent.counted}"
        kind = intent.answer_type
        if kind in QUANTITIES + ("date",) and not any(holds(kind, quote) for quote in quotes):
            return f"no passage found states {WHAT_IS_ASKED[kind]}"
        if kind == "vote" and not any(holds(kind, quote) for quote in quotes):
            return f"no passage found states {WHAT_IS_ASKED[kind]}"
        if kind == "state" and not (intent.speakers and ASKS_WHAT_WAS_SAID.search(intent.text)):  # their words answer
            # the best quote names them, not a neighbour in passing; unless several parts, or speakers, are asked for
            lead_only = len(intent.parts) <= 1 and not ASKS_WHAT_WAS_SAID.search(intent.text)  # 'Which States spoke
            named = [max(quoted, key=lambda q: q.score)] if lead_only else quoted
            if not any(
                TYPE_EVIDENCE[kind].search(" ".join(filter(None, [q.quote, q.passage.affiliation]))) for q in named
            ):
                return f"no passage found {WHAT_IS_ASKED[kind]}"
        if NAMED_PERSON.search(intent.text) and not any(TYPE_EVIDENCE["person"].search(quote) for quote in quotes):
            return "no passage found names the person asked about"
        return None

    def footnotes(self, passage: Passage) -> list[str]:
        return [note.text for note in self.footnote_passages(passage)]

    def footnote_passages(self, passage: Passage) -> list[Passage]:
        labels = (f"{passage.document}, {note}" for note in passage.footnotes)
        return [self.by_label[label] for label in labels if label in self.by_label]

    def answering_footnotes(self, intent: Intent, passage: Passage, quote: str) -> list[Passage]:
        """The footnotes that hold the number or date asked for, when the quote itself does not: they are cited too."""
        kind = intent.answer_type
        if kind not in QUANTITIES + ("date",) or holds(kind, quote):
            return []
        return [note for note in self.footnote_passages(passage) if holds(kind, note.text)]


def holds(kind: str, text: str) -> bool:
    """Whether a text holds an answer of this type; numbers that name ('No. 6', '2022') are not quantities."""
    return bool(TYPE_EVIDENCE[kind].search(REFERENCE.sub(" ", text) if kind in QUANTITIES else text))


def is_mentioned(form: str, mentioned: frozenset[str]) -> bool:
    """'Greece' in 'Greece', 'European' in 'Europe', 'Moroccan' in 'Morocco', 'Bangladeshis' in 'Bangladesh':
    the same word, or one sharing all but its last three letters (at least four)."""
    if form in mentioned:
        return True
    need = max(4, len(form) - 3)
    if len(form) < 4:
        return False
    stem = stemmer().stemWord(form)
    return any(w[:need] == form[:need] or (len(w) >= 4 and stemmer().stemWord(w) == stem) for w in mentioned)


def counts(quote: str, noun: str) -> bool:
    """Whether a number stands next to the counted noun: '60 States Parties', '4,000 Bangladeshis'."""
    tokens = [fold(w) for w in words(REFERENCE.sub(" ", quote))]
    for i, token in enumerate(tokens):
        if not is_mentioned(noun, frozenset([token])):
            continue
        near = tokens[max(0, i - COUNT_WINDOW) : i] + tokens[i + 1 : i + 1 + COUNT_WINDOW_AFTER]
        if any(NUMBER.match(t) for t in near):
            return True
    return False
