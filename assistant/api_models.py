"""The API's request and response models: what the server accepts and returns, as the OpenAPI schema states it.

Request models are built per app by `request_models`, because their limits come from the settings (longest
question) and the corpus (document names and sessions). Response models are fixed; FastAPI checks every
response against them.
"""

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi.exceptions import RequestValidationError
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from assistant.retrieval import check_date
from assistant.text import VISIBLE, has_visible_text

MAX_K = 50
MAX_HISTORY_TURNS = 10
KINDS = ("paragraph", "header", "footnote")
# The corpus dates, "2022-09-27", "2013-09" or "2022", as a pattern the schema can state: only months and days that
# exist, 29 February only in leap years (divisible by 4, centuries only by 400), no year 0. The same check in code:
# retrieval.check_date.
YEAR = r"([1-9]\d{3}|0[1-9]\d{2}|00[1-9]\d|000[1-9])"
LEAP_YEAR = r"(\d\d(0[48]|[2468][048]|[13579][26])|([02468][48]|[13579][26]|[2468]0)00)"
MONTH_DAY = r"(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31"
ISO_DATE = rf"^({YEAR}(-(0[1-9]|1[0-2])|-({MONTH_DAY}))?|{LEAP_YEAR}-02-29)$"


# ---- request validation shared by the API and the no-JavaScript form ----


def check_question(text: str, max_chars: int) -> str:
    """The question without surrounding blanks; ValueError saying what to change."""
    if len(text) > max_chars:
        raise ValueError(f"the question is {len(text)} characters long; the limit is {max_chars}: shorten it")
    if not text.strip():
        raise ValueError("the question is empty: type a question, e.g. 'Who chaired the 590th meeting?'")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the question holds an unpaired surrogate (e.g. \\ud800): send valid Unicode text") from None
    if not has_visible_text(text):
        raise ValueError(
            "the question has no visible characters (only invisible ones such as zero-width spaces): type a question"
        )
    return text.strip()


def integral_float(value: Any) -> Any:
    """JSON Schema counts 11.0 as an integer, so the strict models accept it as 11."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def question_schema(max_chars: int) -> dict:
    return {"minLength": 1, "maxLength": max_chars, "pattern": VISIBLE}


def real_date(name: str):
    """A validator for an ISO date field that must also be a calendar date ('2022-13-45' is refused)."""

    def check(value: str | None) -> str | None:
        check_date(name, value)
        return value

    return AfterValidator(check)


def non_finite_path(value: Any, path: str = "") -> str | None:
    """Where a NaN or an infinity sits in parsed JSON ('k', 'history.0.citations.1.score'), or None.
    Python's JSON reader accepts NaN, Infinity and 1e400 (as inf); JSON itself has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return path or "body"
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        found = non_finite_path(child, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


NON_FINITE = "non_finite_number"  # the error type; web.py moves the error to the field named in its context


def reject_non_finite(data: Any) -> Any:
    where = non_finite_path(data)
    if where:
        raise PydanticCustomError(
            NON_FINITE,
            "NaN, Infinity or a number too large (1e400) is not a JSON number: send a finite number",
            {"path": where},
        )
    return data


def invalid(loc: tuple[str | int, ...], message: str, value: Any = None) -> RequestValidationError:
    """A 422 in FastAPI's own shape, for checks made outside the pydantic models."""
    return RequestValidationError([{"loc": loc, "msg": message, "type": "value_error", "input": value}])


@dataclass(frozen=True)
class RequestModels:
    ask: type[BaseModel]
    history: TypeAdapter
    document_names: tuple[str, ...]


def request_models(
    max_chars: int, document_names: list[str], sessions: list[str], document_ids: list[str]
) -> RequestModels:
    """Request bodies whose limits (question length, known documents and sessions) come from the settings and corpus."""
    DocumentName = Literal[tuple(document_names)]  # type: ignore[valid-type]
    Session = Literal[tuple(sessions)] if sessions else str  # type: ignore[valid-type]
    Kind = Literal[KINDS]  # type: ignore[valid-type]

    class FiltersIn(BaseModel):
        """Narrow the passages searched; every key is optional and they combine with AND."""

        model_config = ConfigDict(
            extra="forbid",
            strict=True,
            json_schema_extra={"examples": [{"document": [document_names[0]], "kind": ["paragraph"]}]},
        )
        document: list[DocumentName] | None = Field(None, description="Documents by id or symbol.")  # type: ignore[valid-type]
        date_from: Annotated[str, Field(pattern=ISO_DATE), real_date("date_from")] | None = Field(
            None, description="Earliest date, ISO: 2022, 2022-09 or 2022-09-27."
        )
        date_to: Annotated[str, Field(pattern=ISO_DATE), real_date("date_to")] | None = Field(
            None, description="Latest date, ISO."
        )
        session: Session | None = Field(None, description="Session, e.g. 'Thirty-fifth session'.")  # type: ignore[valid-type]
        speaker: str | None = Field(None, max_length=200, description="Speaker, e.g. 'Mr. Flynn'.")
        affiliation: str | None = Field(None, max_length=200, description="Speaker's affiliation.")
        kind: list[Kind] | None = Field(None, description="Passage kinds.")  # type: ignore[valid-type]

    class HistoryTurn(BaseModel):
        """An earlier turn of the conversation, as the answer API returned it."""

        model_config = ConfigDict(extra="forbid", strict=True)
        question: str = Field(max_length=max_chars)
        answer: str | None = Field(None, max_length=20_000)
        citations: list[dict[str, Any]] | None = Field(None, max_length=MAX_K)

    class PageCitation(BaseModel):
        """A citation as the chat page wrote it into its form: what the page needs to show it again."""

        model_config = ConfigDict(extra="ignore", strict=True)
        n: int = Field(ge=1, le=MAX_K)
        doc_id: Literal[tuple(document_ids)]  # type: ignore[valid-type]
        anchor: str = Field(max_length=200)
        label: str = Field(max_length=200)
        quote: str | None = Field(None, max_length=5000)
        text: str | None = Field(None, max_length=20_000)
        speaker: str | None = Field(None, max_length=200)
        affiliation: str | None = Field(None, max_length=200)
        date: str | None = Field(None, max_length=20)

    class PageTurn(HistoryTurn):
        """An earlier turn as the no-JavaScript form sends it back; the page shows its citations again."""

        citations: list[PageCitation] | None = Field(None, max_length=MAX_K)

    class AskRequest(BaseModel):
        """A question, with the earlier turns of the conversation for follow-ups."""

        model_config = ConfigDict(
            extra="forbid",
            strict=True,
            json_schema_extra={
                "examples": [
                    {"question": "Who chaired the 590th meeting?"},
                    {
                        "question": "What did he say about detention?",
                        "history": [{"question": "What did Mr. Flynn say?", "answer": "Mr. Flynn said ... [1]"}],
                        "k": 8,
                        "filters": {"document": [document_names[0]]},
                    },
                ]
            },
        )
        question: str = Field(
            description=f"The question, 1 to {max_chars} characters.", json_schema_extra=question_schema(max_chars)
        )
        history: list[HistoryTurn] | None = Field(
            None, max_length=MAX_HISTORY_TURNS, description="Earlier turns, oldest first."
        )
        k: Annotated[int, Field(ge=1, le=MAX_K), BeforeValidator(integral_float)] | None = Field(
            None, description="Passages the answer reads (default: settings)."
        )
        filters: FiltersIn | None = None

        @field_validator("question")
        @classmethod
        def _question(cls, value: str) -> str:
            return check_question(value, max_chars)

        @model_validator(mode="before")
        @classmethod
        def _finite(cls, data: Any) -> Any:
            return reject_non_finite(data)

    return RequestModels(AskRequest, TypeAdapter(list[PageTurn]), tuple(document_names))


# ---- response models: the OpenAPI schema and a check that what we return has this shape ----


class ErrorOut(BaseModel):
    detail: str = Field(examples=["no document 'CMW-C-SR.999'; GET /api/documents lists the documents"])


class PassageOut(BaseModel):
    """One citable passage, verbatim, with where it is in its document."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "CMW-C-SR.506#para-24",
                    "document": "CMW/C/SR.506",
                    "doc_id": "CMW-C-SR.506",
                    "title": "Summary record of the 506th meeting",
                    "paragraph": "24",
                    "label": "CMW/C/SR.506, para. 24",
                    "anchor": "para-24",
                    "url": "/documents/CMW-C-SR.506#para-24",
                    "number": 24,
                    "inferred": False,
                    "kind": "paragraph",
                    "text": "Mr. Flynn (Global Detention Project) said that ...",
                    "speaker": "Mr. Flynn",
                    "affiliation": "Global Detention Project",
                    "date": "2022-09-27",
                }
            ]
        }
    )
    id: str
    document: str
    doc_id: str
    title: str
    paragraph: str
    label: str
    anchor: str
    url: str
    number: int | None = None
    inferred: bool = False
    kind: str
    text: str
    source: str | None = None
    line: int | None = None
    order: int | None = None
    speaker: str | None = None
    affiliation: str | None = None
    section: str | None = None
    date: str | None = None
    session: str | None = None
    footnotes: list[str] = []
    parent: str | None = None


class HitOut(PassageOut):
    score: float
    rank: int
    dense_rank: int | None = None
    bm25_rank: int | None = None
    dense_score: float | None = None
    bm25_score: float | None = None


class SearchOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"query": "alternatives to detention", "mode": "hybrid", "k": 10, "hits": []}]}
    )
    query: str
    mode: str
    k: int
    filters: dict[str, Any]
    hits: list[HitOut]


class CitationOut(BaseModel):
    """A passage an answer cites: [n] in the answer text refers to the citation with this n."""

    n: int
    document: str
    title: str
    paragraph: str
    label: str
    speaker: str | None = None
    affiliation: str | None = None
    date: str | None = None
    section: str | None = None
    quote: str | None = None
    text: str
    score: float | None = None
    url: str
    doc_id: str
    anchor: str
    kind: str
    session: str | None = None
    meeting: int | None = None


class PartOut(BaseModel):
    """One part of a question that asks several things, and whether the records answer it."""

    question: str
    answered: bool
    direct: str | None = None


class AnswerOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "question": "Who chaired the 590th meeting?",
                    "answer": "Ms. Diallo chaired the 590th meeting [1].",
                    "abstained": False,
                    "citations": [
                        {
                            "n": 1,
                            "document": "CMW/C/SR.590",
                            "title": "Summary record (partial) of the 590th meeting",
                            "paragraph": "header",
                            "label": "CMW/C/SR.590, header",
                            "quote": "Chair: Ms. Diallo",
                            "text": "... Chair: Ms. Diallo ...",
                            "score": 0.71,
                            "url": "/documents/CMW-C-SR.590#header",
                            "doc_id": "CMW-C-SR.590",
                            "anchor": "header",
                            "kind": "header",
                            "date": "2024-12-13",
                        }
                    ],
                    "related": [],
                    "mode": "extractive",
                    "notice": None,
                    "resolved_question": "Who chaired the 590th meeting?",
                }
            ]
        }
    )
    question: str
    answer: str
    direct: str | None = Field(None, description="The answer in one sentence, with [n] markers; leads the answer.")
    confidence: float | None = Field(None, ge=0, le=1, description="How sure the answer is, 0 to 1.")
    parts: list[PartOut] | None = Field(None, description="For a question that asks several things: each part.")
    abstained: bool
    citations: list[CitationOut]
    related: list[CitationOut]
    mode: str
    notice: str | None = None
    resolved_question: str


class DocumentOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "CMW-C-SR.590",
                    "document": "CMW/C/SR.590",
                    "symbol": "CMW/C/SR.590",
                    "kind": "summary_record",
                    "title": "Summary record (partial) of the 590th meeting",
                    "session": "Thirty-ninth session",
                    "meeting": 590,
                    "date": "2024-12-13",
                    "chair": "Ms. Diallo",
                    "passages": 8,
                    "url": "/documents/CMW-C-SR.590",
                }
            ]
        }
    )
    id: str
    document: str
    symbol: str | None = None
    kind: str
    title: str
    body: str | None = None
    session: str | None = None
    meeting: int | None = None
    date: str | None = None
    place: str | None = None
    chair: str | None = None
    issued: str | None = None
    original_language: str | None = None
    description: str | None = None
    source: str
    passages: int
    url: str


class DocumentsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"documents": [DocumentOut.model_json_schema()["examples"][0]], "passages": 183}]
        }
    )
    documents: list[DocumentOut]
    passages: int


class DocumentDetailOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "document": DocumentOut.model_json_schema()["examples"][0],
                    "passages": PassageOut.model_json_schema()["examples"],
                }
            ]
        }
    )
    document: DocumentOut
    passages: list[PassageOut]


class HealthOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ok", "documents": 5, "passages": 183, "index": {"model": "..."}}]}
    )
    status: str
    version: str
    documents: int
    passages: int
    index: dict[str, Any]
