"""Judge: how likely it is that the gathered evidence answers a part of the question, as a probability.

A small logistic model over general features of the evidence; no feature names a question. Its coefficients
(judge.json) are fitted by eval/crossval.py with leave-one-set-out cross-validation over the question sets, and its
threshold is chosen there too (the highest that refuses at most 3% of the answerable training questions); the eval
report shows each feature's effect per set.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant.answering.gather import Evidence, asked, has_type
from assistant.answering.knowledge import (
    GENERIC_SPEAKER_WORDS,
    Knowledge,
    close_spelling,
    state_represented,
    states_in,
)
from assistant.answering.read import Reading
from assistant.passages import Passage
from assistant.retrieval import Hit
from assistant.text import acronym, fold, stem, stems, words

MODEL_FILE = Path(__file__).with_name("judge.json")
TOP_PASSAGES = 5  # passages whose evidence the features read
GENERIC_STEMS = frozenset(map(stem, GENERIC_SPEAKER_WORDS))  # 'speakers', 'representatives', 'organizations'


@dataclass
class Features:
    """General evidence that one part of a question is answered; each roughly in [0, 1]."""

    score: float  # the best sentence's combined score (gather.Weights)
    cosine: float  # its cosine with the part
    passage_cosine: float  # its passage's dense score
    sentence_words: float  # share of the part's focus words in the best sentence
    passage_words: float  # ... in the best passage's context
    named_met: float  # share of the question's named constraints met by the best evidence passage (1 with none)
    named_any: float  # 1 when the question names something an answer must mention
    named_union: float  # share of those things met by some top passage (a comparison may meet them apart)
    speaker_met: float  # when it names a speaker or person: 1 if a top passage is theirs (1 when it names none)
    subject_spoke: float  # when it asks what someone said: 1 if a top passage's speaker is them (1 when it does not)
    subject_words: float  # ... the share of the part's words in the best sentence they spoke: they may have spoken,
    # but not of what the question asks about (1 when it asks no one in particular)
    subject_named: float  # ... the share of what the question names that their passage mentions ('What did the
    # Special Rapporteur say about Tunisia?': he spoke, of other States; 1 when it asks no one or names nothing)
    unknown: float  # IDF share of the question's words the corpus never uses
    unheld: float  # 1 when it names a meeting, session, symbol or general comment the corpus does not hold
    typed: float  # 1 when the part asks for a typed answer (a date, a number, a person, ...)
    type_found: float  # 1 when a top sentence holds that type (1 for free-text parts)
    typed_focus: float  # share of the part's words in the best sentence that holds the type asked for
    missing_rare: float  # rarity (IDF, scaled) of the rarest focus word that no top passage mentions
    agreement: float  # 1 when dense and BM25 both rank the top passage in their top 3
    near_miss: float  # passage_words x missing_rare: the passages meet the part's words but for a rare one, as when
    # a question asks for a detail ('in days', 'the vote') of something the records do discuss
    missing_close: float  # missing_rare x cosine: a rare word the passages lack while the best sentence is close in
    # meaning, as a lay word for the records' own is ('kids' for 'children'), where an absent detail leaves it far
    unknown_close: float  # unknown x cosine: the same for words the corpus never uses
    checker: float  # the checker's logit for the question with the best sentence, read together (checker.py)

    def vector(self) -> list[float]:
        return list(asdict(self).values())


FEATURE_NAMES = list(Features.__dataclass_fields__)


def passage_meaning(best: Evidence) -> float:
    """How close the best sentence's passage is in meaning. A header line ('Held at the Palais Wilson, ...') is a
    field of its own: its passage, the whole header, embeds as a jumble of fields far from any question."""
    return max(best.passage_cosine, best.cosine) if best.header_line else best.passage_cosine


def features(
    reading: Reading,
    part: int,
    evidence: list[Evidence],
    hits: list[Hit],
    knowledge: Knowledge,
    gatherer=None,
    checked: float = 0.0,
) -> Features:
    kind = reading.parts[part].answer_type
    best = evidence[0] if evidence else None
    top = evidence[: TOP_PASSAGES * 3]
    constraints = reading.constraints_of(part)
    named = bool(constraints)
    unknown = knowledge.unknown_share(reading.question)
    typed = [e for e in top if e.typed] if kind != "text" else top[:5]
    slot = set(stems(reading.parts[part].slot))  # 'which building': the answer names it ('the Palais Wilson')
    absent = [
        knowledge.idf(s)
        for s in knowledge.weighted_stems(reading.parts[part].focus)
        if s not in slot and not any(s in e.context_stems for e in top[:TOP_PASSAGES])
    ]
    said = by_subject(reading, top, knowledge)
    given = asked(reading.question)
    first = hits[0] if hits else None
    agreement = bool(first and (first.dense_rank or 99) <= 3 and (first.bm25_rank or 99) <= 3)
    passage_words = max((e.passage_words for e in top), default=0.0)
    missing_rare = max(absent, default=0.0) / knowledge.idf("\0")
    cosine = best.cosine if best else 0.0
    return Features(
        score=best.score if best else 0.0,
        cosine=cosine,
        passage_cosine=passage_meaning(best) if best else 0.0,
        sentence_words=best.sentence_words if best else 0.0,
        passage_words=passage_words,
        named_met=max((e.named for e in top), default=0.0) if named else 1.0,
        named_any=float(named),
        named_union=named_union(constraints, top, gatherer) if named and gatherer else 1.0,
        speaker_met=speaker_met(reading, top),
        subject_spoke=spoken(said),
        subject_words=1.0 if said is None else max((e.sentence_words for e in said), default=0.0),
        subject_named=1.0 if said is None or not named else max((e.named for e in said), default=0.0),
        unknown=unknown,
        unheld=float(bool(reading.unheld)),
        typed=float(kind != "text"),
        type_found=float(kind == "text" or any(e.typed or names_a_body(e, kind, given) for e in top[:5])),
        typed_focus=max((e.sentence_words for e in typed), default=0.0),
        missing_rare=missing_rare,
        agreement=float(agreement),
        near_miss=passage_words * missing_rare,
        missing_close=missing_rare * cosine,
        unknown_close=unknown * cosine,
        checker=checked,
    )


@dataclass
class Judge:
    """Logistic model: P(the records answer) = sigmoid(intercept + coefficients . features)."""

    coefficients: list[float]
    intercept: float
    threshold: float
    mean: list[float]
    scale: list[float]

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> Judge:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["features"] != FEATURE_NAMES:
            raise ValueError(f"{path.name} was fitted on other features; refit it: python eval/crossval.py --write")
        return cls(data["coefficients"], data["intercept"], data["threshold"], data["mean"], data["scale"])

    @classmethod
    def neutral(cls) -> Judge:
        """A judge with no opinion (probability 0.5 everywhere), for fitting a new one."""
        n = len(FEATURE_NAMES)
        return cls([0.0] * n, 0.0, 0.5, [0.0] * n, [1.0] * n)

    def probability(self, f: Features) -> float:
        x = [(v - m) / s for v, m, s in zip(f.vector(), self.mean, self.scale, strict=True)]
        z = self.intercept + sum(c * v for c, v in zip(self.coefficients, x, strict=True))
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))

    def answers(self, probability: float) -> bool:
        return probability >= self.threshold


def names_a_body(e: Evidence, kind: str, given: str) -> bool:
    """A person asked for may be a body ('Who was tasked with the indicators?' 'The Secretary-General'): gather ranks
    sentences that name a person first, but one that names a body holds an answer of the kind too."""
    sentence = e.passage.text[e.span[0] : e.span[1]]
    return kind == "person" and has_type(sentence, kind, given=given, bodies=True)


def named_union(constraints: list[tuple[str, str]], top: list[Evidence], gatherer) -> float:
    passages = list(dict.fromkeys(e.passage for e in top))[:TOP_PASSAGES]
    met = [any(gatherer.mentions(p, kind, value) for p in passages) for kind, value in constraints]
    return sum(met) / len(met)


def speaker_met(reading: Reading, top: list[Evidence]) -> float:
    if not reading.speakers and not reading.persons:
        return 1.0
    return float(any(e.by_speaker for e in top[:10]))


def spoken(said: list[Evidence] | None) -> float:
    """1 when the one asked about spoke in the top evidence, or when the question asks no one in particular."""
    return 1.0 if said is None else float(bool(said))


def by_subject(reading: Reading, top: list[Evidence], knowledge: Knowledge) -> list[Evidence] | None:
    """The top evidence spoken by the one a question asks to have spoken; None when it asks no one in particular.

    'What did the delegation of Jamaica say?' needs a passage whose speaker is Jamaica's: a State, a name, an
    organization's distinctive words or its acronym in the speaker line, spelling-tolerant. A document without
    speakers (a general comment) speaks in its own name: 'according to the committee's guidance on detention' is met
    by its title. A subject that names no one in particular ('speakers', 'the same organization') is met by anyone."""
    if not reading.subject:
        return None
    delegation = state_represented(reading.subject)  # 'the representative of Algeria': Algeria's delegation only,
    # not an organization whose name mentions Algeria
    wanted_states = set(states_in(reading.subject))
    wanted = {fold(w) for w in words(reading.subject) if not knowledge.is_common(w) and stem(w) not in GENERIC_STEMS}
    if not (delegation or wanted_states or wanted):
        return None
    return [e for e in top[:10] if spoke(e.passage, delegation, wanted_states, wanted, knowledge)]


def spoke(p: Passage, delegation: str | None, wanted_states: set[str], wanted: set[str], knowledge: Knowledge) -> bool:
    if delegation:
        return state_represented(p.affiliation) == delegation
    if p.doc_id in knowledge.voiced:
        line = " ".join(filter(None, [p.speaker, p.affiliation, acronym(p.affiliation or ""), knowledge.chair_of(p)]))
    else:
        line = p.title
    if not line:
        return False
    if wanted_states & set(states_in(line)):
        return True
    return any(close_spelling(w, v) for w in wanted for v in (fold(x) for x in words(line)))


def unknown_words(reading: Reading, knowledge: Knowledge) -> list[str]:
    """The question's words the corpus never uses (for the abstention's explanation)."""
    return [w for w in reading.names if not knowledge.knows(w) and not set(stems(w)) & set(knowledge.stem_df)]
