"""The records an answer is made of: citations and the answer object every interface returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from assistant.passages import Passage


class QuestionError(ValueError):
    """A question that cannot be asked (empty, too long); the message says what to do."""


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
    quote: str  # verbatim span of `text`: the sentences that carry the answer
    text: str  # the passage's whole text
    score: float
    url: str  # opens the passage in the document reader
    doc_id: str
    anchor: str
    kind: str
    session: str | None = None

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
            session=passage.session,
        )


@dataclass
class PartAnswer:
    """One part of a multi-part question: answered or not, with its direct answer and how sure."""

    question: str
    answered: bool
    direct: str | None
    confidence: float


@dataclass
class Answer:
    question: str
    answer: str  # the whole text: direct answer first, then the quoted evidence
    abstained: bool
    citations: list[Citation]
    related: list[Citation]
    mode: str  # "extractive" | "generative"
    notice: str | None
    resolved_question: str
    direct: str | None = None  # the direct answer line, with [n] markers
    confidence: float | None = None  # calibrated probability that the records answer the question
    parts: list[PartAnswer] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)
