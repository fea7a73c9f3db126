"""The web service: a JSON API and a chat page over one Assistant, loaded once when the app is created.

Routes stay thin: they validate, call the Assistant in a worker thread (model inference must not block
the event loop), and render. Request models are built per app because their limits come from the
settings (longest question) and the corpus (document names), so the OpenAPI schema states exactly
what the server accepts.
"""

import contextlib
import json
import os
import re
import threading
from dataclasses import dataclass
from datetime import date as Date
from typing import Annotated, Any, Literal
from urllib.parse import quote as quote_path
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, field_validator
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant import __version__
from assistant.corpus import Corpus
from assistant.passages import Passage, slug_label
from assistant.retrieval import Filters
from assistant.service import Assistant
from assistant.settings import PROJECT_ROOT, Settings

WEB_DIR = PROJECT_ROOT / "web"
MAX_K = 50
MAX_HISTORY_TURNS = 10
KINDS = ("paragraph", "header", "footnote")
MODES = ("hybrid", "dense", "bm25")
ISO_DATE = r"^\d{4}(-\d{2}(-\d{2})?)?$"  # the corpus dates: "2022-09-27", "2013-09", "2022"
EXAMPLE_BODY = '{"question": "Who chaired the 590th meeting?"}'
EXAMPLE_QUESTIONS = [
    "How many States parties does the Convention have?",
    "What did Mr. Flynn say about alternatives to detention?",
    "Who chaired the 590th meeting?",
    "Why do so few States ratify the Convention?",
]

# The page loads only its own scripts and styles (none inline), and no one may frame it.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP response, errors and static files included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


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
    return text.strip()


def integral_float(value: Any) -> Any:
    """JSON Schema counts 11.0 as an integer, so the strict models accept it as 11."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def question_schema(max_chars: int) -> dict:
    return {"minLength": 1, "maxLength": max_chars, "pattern": r"\S"}


def invalid(loc: tuple[str | int, ...], message: str, value: Any = None) -> RequestValidationError:
    """A 422 in FastAPI's own shape, for checks made outside the pydantic models."""
    return RequestValidationError([{"loc": loc, "msg": message, "type": "value_error", "input": value}])


@dataclass(frozen=True)
class RequestModels:
    ask: type[BaseModel]
    history: TypeAdapter
    document_names: tuple[str, ...]


def request_models(max_chars: int, document_names: list[str], sessions: list[str]) -> RequestModels:
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
        date_from: str | None = Field(
            None, pattern=ISO_DATE, description="Earliest date, ISO: 2022, 2022-09 or 2022-09-27."
        )
        date_to: str | None = Field(None, pattern=ISO_DATE, description="Latest date, ISO.")
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

    return RequestModels(AskRequest, TypeAdapter(list[HistoryTurn]), tuple(document_names))


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


# ---- turning pipeline records into response dicts ----


def passage_dict(passage: Passage) -> dict:
    return passage.to_dict() | {"url": f"/documents/{passage.doc_id}#{passage.anchor}"}


def document_dict(corpus: Corpus, doc_id: str) -> dict:
    document = corpus.document(doc_id)
    assert document is not None
    count = sum(p.doc_id == document.id for p in corpus.passages)
    return document.to_dict() | {"passages": count, "url": f"/documents/{document.id}"}


def index_info(assistant: Assistant) -> dict:
    """What the index says about itself (model, fingerprint, when built), whatever the index object offers."""
    index = getattr(assistant.retriever, "index", None)
    for name in ("info", "manifest", "meta", "stamp"):
        value = getattr(index, name, None)
        value = value() if callable(value) else value
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if isinstance(v, str | int | float | bool | None)}
    return {"model": assistant.settings.model}


# ---- rendering helpers for the templates ----


def format_date(value: str | None) -> str:
    """'2022-09-27' -> '27 September 2022', '2013-09' -> 'September 2013', '2022' -> '2022'."""
    if not value:
        return ""
    parts = value.split("-")
    try:
        if len(parts) == 3:
            return Date.fromisoformat(value).strftime("%-d %B %Y")
        if len(parts) == 2:
            return Date(int(parts[0]), int(parts[1]), 1).strftime("%B %Y")
    except ValueError:
        pass
    return value


def highlight(text: str, quote: str | None) -> Markup:
    """The text escaped, with the first occurrence of quote marked."""
    start = text.find(quote) if quote else -1
    if start < 0 or not quote:
        return escape(text)
    end = start + len(quote)
    return escape(text[:start]) + Markup("<mark>") + escape(text[start:end]) + Markup("</mark>") + escape(text[end:])


def excerpt(citation: dict, context: int = 110) -> Markup:
    """The cited paragraph around its quoted sentence, the quote marked: '… before <mark>quote</mark> after …'."""
    text, quote = citation.get("text") or "", citation.get("quote") or ""
    if not text:
        return highlight(quote, quote)
    start = text.find(quote) if quote else -1
    if start < 0:
        return escape(shorten(text, 2 * context))
    before, after = text[:start], text[start + len(quote) :]
    if len(before) > context:
        before = "… " + before[-context:].split(" ", 1)[-1]
    if len(after) > context:
        after = after[:context].rsplit(" ", 1)[0] + " …"
    return escape(before) + Markup("<mark>") + escape(quote) + Markup("</mark>") + escape(after)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def cite_markers(text: str, turn: int, numbers: list[int]) -> Markup:
    """Answer text escaped, each [n] a link to source n of this turn (the no-JavaScript page)."""
    out = Markup()
    last = 0
    for match in re.finditer(r"\[(\d+)\]", text):
        n = int(match.group(1))
        if n not in numbers:
            continue
        out += escape(re.sub(r" $", "\u00a0", text[last : match.start()]))  # keep [n] on its claim's line
        out += Markup('<a class="marker" href="#t{}-src-{}">[{}]</a>').format(turn, n, n)
        last = match.end()
    return out + escape(text[last:])


def inline_code(text: str) -> Markup:
    """Escaped text with `backticked` words set as code: the route descriptions on /docs."""
    parts = escape(text).split("`")
    return Markup("").join(Markup("<code>{}</code>").format(p) if i % 2 else p for i, p in enumerate(parts))


def anchor_of(label: str) -> str:
    """The reader's fragment id for a passage label, as Passage.anchor makes it: '24' -> 'para-24'."""
    return "para-" + label if label.isdigit() else slug_label(label)


def reader_link(citation: dict) -> str:
    """The reader page at the cited paragraph, with the quoted sentence marked."""
    query = urlencode({"quote": citation["quote"], "anchor": citation["anchor"]}) if citation.get("quote") else ""
    return f"/documents/{quote_path(citation['doc_id'])}{'?' + query if query else ''}#{citation['anchor']}"


def speaker_line(item: dict) -> str:
    speaker, affiliation = item.get("speaker"), item.get("affiliation")
    if speaker and affiliation:
        return f"{speaker} ({affiliation})"
    return speaker or affiliation or ""


def reader_blocks(passages: list[Passage]) -> list[tuple[str, Any]]:
    """The document in reading order: ('header', p), ('heading', title) where the section changes, ('passage', p)."""
    blocks: list[tuple[str, Any]] = []
    section = None
    for passage in sorted(passages, key=lambda p: p.order):
        if passage.kind == "footnote":
            continue
        if passage.kind == "paragraph" and passage.section and passage.section != section:
            blocks.append(("heading", passage.section))
        section = passage.section if passage.kind == "paragraph" else section
        blocks.append(("header" if passage.kind == "header" else "passage", passage))
    return blocks


def api_reference(schema: dict) -> list[dict]:
    """The OpenAPI schema as rows for the /docs page: one per route, with its parameters and examples."""
    components = schema.get("components", {}).get("schemas", {})

    def resolve(node: dict | None) -> dict:
        ref = (node or {}).get("$ref")
        return components.get(ref.rsplit("/", 1)[-1], {}) if ref else (node or {})

    def first_example(node: dict | None) -> Any:
        return (resolve(node).get("examples") or [None])[0]

    rows = []
    for path, operations in schema.get("paths", {}).items():
        for method, op in operations.items():
            body = op.get("requestBody", {}).get("content", {})
            ok = op.get("responses", {}).get("200", {}).get("content", {})
            params = [
                {
                    "name": p["name"],
                    "where": p["in"],
                    "required": p.get("required", False),
                    "type": schema_type(p.get("schema", {})),
                    "description": p.get("description") or p.get("schema", {}).get("description", ""),
                }
                for p in op.get("parameters", [])
            ]
            form = resolve(body.get("application/x-www-form-urlencoded", {}).get("schema"))
            params += [
                {"name": name, "where": "form", "required": name in form.get("required", []), "type": schema_type(prop)}
                | {"description": prop.get("description", "")}
                for name, prop in form.get("properties", {}).items()
            ]
            rows.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "params": params,
                    "body": first_example(body.get("application/json", {}).get("schema")),
                    "response": first_example(ok.get("application/json", {}).get("schema")),
                    "html": "text/html" in ok,
                }
            )
    return rows


def schema_type(schema: dict) -> str:
    """A JSON schema in a few words: 'string', 'integer', 'list of one of: a, b'."""
    if "enum" in schema:
        return "one of: " + ", ".join(repr(v) for v in schema["enum"])
    if "anyOf" in schema:
        return " or ".join(schema_type(s) for s in schema["anyOf"] if s.get("type") != "null")
    if schema.get("type") == "array":
        return "list of " + schema_type(schema.get("items", {}))
    return str(schema.get("type", "any"))


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))
    templates.env.autoescape = True
    templates.env.filters.update(
        date=format_date,
        highlight=highlight,
        cite_markers=cite_markers,
        speaker=speaker_line,
        anchor_of=anchor_of,
        reader_link=reader_link,
        excerpt=excerpt,
        inline_code=inline_code,
    )
    templates.env.globals.update(version=__version__)
    return templates


# ---- the application ----


def warm_quietly(assistant: Assistant) -> None:
    """Warm up at the lowest CPU priority (Linux niceness is per thread), so questions asked meanwhile go first."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    assistant.answerer.warm()


def create_app(settings: Settings, assistant: Assistant | None = None) -> FastAPI:
    """The web service over one Assistant; opens it from settings (raising IndexNotReady) when none is given."""
    assistant = assistant or Assistant.open(settings)
    # Sentence vectors for answers are embedded once in the background (~10 s), so that no question waits for them
    # and the server still answers its first question within seconds of starting.
    assistant.retriever.embedder.model  # noqa: B018 - load it now: /healthz then means the first answer is quick
    threading.Thread(target=warm_quietly, args=(assistant,), name="warm-answer-sentences", daemon=True).start()
    corpus = assistant.corpus
    names = sorted({d.id for d in corpus.documents} | {d.cite_as for d in corpus.documents})
    sessions = sorted({p.session for p in corpus.passages if p.session})
    models = request_models(settings.max_question_chars, names, sessions)
    AskRequest = models.ask
    templates = make_templates()
    documents = [document_dict(corpus, d.id) for d in corpus.documents]
    documents.sort(key=lambda d: d["date"] or "", reverse=True)
    max_chars = settings.max_question_chars

    app = FastAPI(
        title="CMW records assistant",
        version=__version__,
        description=(
            "Citation-grounded answers from UN Committee on Migrant Workers records. Every answer cites "
            "the paragraphs it rests on ([n] markers), or abstains when the records do not answer. "
            "Documents are read in memory only; ids never reach the file system."
        ),
        docs_url=None,  # Swagger UI and ReDoc load from a CDN; /docs is our own offline page over /openapi.json
        redoc_url=None,
    )
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse | HTMLResponse:
        message = explain(exc.errors())
        if is_page(request):
            return page(request, "error.html", {"title": "Check the request", "message": message}, 422)
        return JSONResponse({"detail": jsonable_errors(exc.errors()), "message": message}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse | HTMLResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette names only the first route's methods; "/" has GET and POST
            headers["Allow"] = ", ".join(allowed_methods(app, request))
        if is_page(request):
            context = {"title": ERROR_TITLES.get(exc.status_code, "Something went wrong"), "message": exc.detail}
            return page(request, "error.html", context, exc.status_code, headers)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    def page(
        request: Request, name: str, context: dict, status_code: int = 200, headers: dict | None = None
    ) -> HTMLResponse:
        base = {"documents": documents, "max_chars": max_chars, "passages_total": len(corpus.passages), "latest": None}
        return templates.TemplateResponse(request, name, base | context, status_code=status_code, headers=headers)

    # ---- API ----

    @app.post(
        "/api/ask",
        response_model=AnswerOut,
        tags=["api"],
        summary="Answer a question with citations",
        description=(
            "Answers from the records, each claim followed by [n] markers that refer to `citations`; "
            "abstains (`abstained: true`, with `related` passages) when the records do not answer. "
            "Send earlier turns as `history` for follow-up questions."
        ),
        responses={
            400: {"model": ErrorOut, "description": "The body could not be read (not UTF-8)."},
            422: {"description": "The request is not valid: `message` says what to change."},
        },
    )
    def ask(body: AskRequest) -> dict:  # type: ignore[valid-type]
        request = body.model_dump()  # type: ignore[attr-defined]
        filters = Filters(**{k: v for k, v in (request["filters"] or {}).items() if v is not None})
        history = [{k: v for k, v in turn.items() if v is not None} for turn in request["history"] or []]
        try:
            answer = assistant.ask(request["question"], history=history or None, k=request["k"], filters=filters)
        except ValueError as err:  # the pipeline's own checks (a filter that names nothing known)
            raise invalid(("body",), str(err)) from None
        return answer.to_dict()

    @app.get(
        "/api/search",
        response_model=SearchOut,
        tags=["api"],
        summary="Search passages",
        description="Ranked passages for a query (hybrid of dense embeddings and BM25 by default), with their scores.",
        responses={422: {"description": "A parameter is not valid: `message` says what to change."}},
    )
    def search(
        request: Request,
        q: Annotated[
            str,
            Query(
                description="What to search for.",
                examples=["alternatives to detention"],
                json_schema_extra=question_schema(max_chars),
            ),
        ],
        k: Annotated[int, Query(ge=1, le=MAX_K, description="How many passages.", examples=[5])] = min(
            settings.top_k, MAX_K
        ),
        mode: Annotated[Literal[MODES], Query(description="Ranking.")] = "hybrid",  # type: ignore[valid-type]
        document: Annotated[
            list[Literal[tuple(names)]] | None,
            Query(description="Only these documents (repeatable).", examples=[["CMW-C-SR.506"]]),
        ] = None,  # type: ignore[valid-type]
        speaker: Annotated[str | None, Query(max_length=200, examples=["Mr. Flynn"])] = None,
        affiliation: Annotated[str | None, Query(max_length=200)] = None,
        session: Annotated[Literal[tuple(sessions)] | None, Query(examples=sessions[:1])] = None,  # type: ignore[valid-type]
        kind: Annotated[list[Literal[KINDS]] | None, Query(description="Passage kinds (repeatable).")] = None,  # type: ignore[valid-type]
        date_from: Annotated[str | None, Query(pattern=ISO_DATE, examples=["2022-01-01"])] = None,
        date_to: Annotated[str | None, Query(pattern=ISO_DATE, examples=["2024-12-31"])] = None,
    ) -> dict:
        unknown = sorted(set(request.query_params) - SEARCH_PARAMS)
        if unknown:
            allowed = ", ".join(sorted(SEARCH_PARAMS))
            raise invalid(("query", unknown[0]), f"unknown parameter '{unknown[0]}'; allowed: {allowed}")
        try:
            query = check_question(q, max_chars)
        except ValueError as err:
            raise invalid(("query", "q"), str(err), q) from None
        given = dict(document=document, speaker=speaker, affiliation=affiliation, session=session, kind=kind)
        given |= dict(date_from=date_from, date_to=date_to)
        chosen = {key: value for key, value in given.items() if value is not None}
        try:
            hits = assistant.search(query, k=k, filters=Filters(**chosen), mode=mode)
        except ValueError as err:
            raise invalid(("query",), str(err)) from None
        return {
            "query": query,
            "mode": mode,
            "k": k,
            "filters": chosen,
            "hits": [hit.to_dict() | {"url": f"/documents/{hit.passage.doc_id}#{hit.passage.anchor}"} for hit in hits],
        }

    @app.get(
        "/api/documents",
        response_model=DocumentsOut,
        tags=["api"],
        summary="List the documents",
        description="Every document the assistant answers from, with its metadata and number of passages.",
    )
    def list_documents() -> dict:
        return {"documents": documents, "passages": len(corpus.passages)}

    @app.get(
        "/api/documents/{doc_id}",
        response_model=DocumentDetailOut,
        tags=["api"],
        summary="One document with its passages",
        description="The document's metadata and all its passages in reading order. `doc_id` is the id or symbol.",
        responses={404: {"model": ErrorOut, "description": "No such document."}},
    )
    def get_document(
        doc_id: Annotated[str, Path(description="Document id, e.g. CMW-C-SR.506.", examples=["CMW-C-SR.506"])],
    ) -> dict:
        document = find_document(corpus, doc_id)
        passages = sorted(corpus.passages_of(document.id), key=lambda p: p.order)
        return {"document": document_dict(corpus, document.id), "passages": [passage_dict(p) for p in passages]}

    @app.get(
        "/api/documents/{doc_id}/paragraphs/{label}",
        response_model=PassageOut,
        tags=["api"],
        summary="One passage",
        description="A passage by its label ('24', 'header', 'fn. 1', 'sect. 2, para. 3') or its anchor ('para-24').",
        responses={404: {"model": ErrorOut, "description": "No such document or passage."}},
    )
    def get_paragraph(
        doc_id: Annotated[str, Path(description="Document id, e.g. CMW-C-SR.506.", examples=["CMW-C-SR.506"])],
        label: Annotated[
            str, Path(description="Label or anchor: '24', 'para-24', 'header', 'fn. 1'.", examples=["24"])
        ],
    ) -> dict:
        document = find_document(corpus, doc_id)
        passage = corpus.passage(document.id, label)
        if passage is None:
            raise HTTPException(
                404,
                f"no passage '{label}' in {document.cite_as}; GET /api/documents/{document.id} lists its passages",
            )
        return passage_dict(passage)

    @app.get(
        "/healthz",
        response_model=HealthOut,
        tags=["service"],
        summary="Health",
        description="Whether the service is up, with the size of the corpus and what the index was built with.",
    )
    def healthz() -> dict:
        info = index_info(assistant)
        return {
            "status": "ok",
            "version": __version__,
            "documents": len(corpus.documents),
            "passages": len(corpus.passages),
            "index": info,
        }

    # ---- pages ----

    @app.get(
        "/",
        response_class=HTMLResponse,
        tags=["pages"],
        summary="The chat page",
        description="Ask questions in a conversation; answers cite the paragraphs they rest on.",
    )
    def chat_page(request: Request) -> HTMLResponse:
        return page(request, "chat.html", {"turns": [], "examples": EXAMPLE_QUESTIONS, "history_json": "[]"})

    @app.post(
        "/",
        response_class=HTMLResponse,
        tags=["pages"],
        summary="Ask without JavaScript",
        description="The chat form posted as a plain form: the server answers and renders the page.",
        responses={
            400: {"description": "The form could not be read.", "content": {"text/html": {}}},
            422: {
                "description": "The question is not valid; the page says what to change.",
                "content": {"text/html": {}},
            },
        },
    )
    def chat_post(
        request: Request,
        question: Annotated[str, Form(description="The question.", json_schema_extra=question_schema(max_chars))],
        history: Annotated[
            str, Form(description="Earlier turns as JSON (written by the page).", max_length=200_000)
        ] = "[]",
        document: Annotated[
            str, Form(description="Only this document ('' = all).", json_schema_extra={"enum": ["", *names]})
        ] = "",
    ) -> HTMLResponse:
        turns, notice = read_history(models.history, history)
        context = {"turns": turns, "examples": EXAMPLE_QUESTIONS, "question": question, "document": document}
        try:
            text = check_question(question, max_chars)
            if document and document not in names:
                raise ValueError(f"no document '{document}'; choose one from the list")
            filters = Filters(document=[document]) if document else None
            answer = assistant.ask(text, history=turns or None, filters=filters).to_dict()
        except ValueError as err:
            context |= {"error": str(err), "history_json": json.dumps(turns)}
            return page(request, "chat.html", context, 422)
        turns = [*turns, history_turn(answer)][-MAX_HISTORY_TURNS:]
        context |= {
            "turns": turns,
            "latest": answer,
            "notice": notice,
            "question": "",
            "history_json": json.dumps(turns),
        }
        return page(request, "chat.html", context)

    @app.get(
        "/docs",
        response_class=HTMLResponse,
        tags=["pages"],
        summary="API reference",
        description="Every route with its parameters and examples, made from /openapi.json; works offline.",
    )
    def docs_page(request: Request) -> HTMLResponse:
        return page(request, "docs.html", {"routes": api_reference(app.openapi())})

    @app.get(
        "/documents/{doc_id}",
        response_class=HTMLResponse,
        tags=["pages"],
        summary="Read a document",
        description="The whole document with its headings, speakers and paragraph numbers; link to a paragraph with #para-24.",
        responses={
            404: {"description": "No such document.", "content": {"text/html": {}}},
            422: {"description": "A parameter is too long; the page says which.", "content": {"text/html": {}}},
        },
    )
    def reader_page(
        request: Request,
        doc_id: Annotated[str, Path(description="Document id, e.g. CMW-C-SR.506.", examples=["CMW-C-SR.506"])],
        quote: Annotated[
            str | None, Query(max_length=2000, description="A sentence to mark in the linked paragraph.")
        ] = None,
        anchor: Annotated[str | None, Query(max_length=200, description="The paragraph the quote is in.")] = None,
    ) -> HTMLResponse:
        document = find_document(corpus, doc_id)
        passages = corpus.passages_of(document.id)
        footnotes = sorted((p for p in passages if p.kind == "footnote"), key=lambda p: p.order)
        context = {
            "document": document_dict(corpus, document.id),
            "blocks": reader_blocks(passages),
            "footnotes": footnotes,
            "quote": quote,
            "quote_anchor": anchor,
            "has_inferred": any(p.inferred for p in passages),
        }
        return page(request, "reader.html", context)

    return app


SEARCH_PARAMS = {"q", "k", "mode", "document", "speaker", "affiliation", "session", "kind", "date_from", "date_to"}


def find_document(corpus: Corpus, doc_id: str):
    """The document, looked up in memory only (never a path on disk); 404 that says where to look."""
    document = corpus.document(doc_id)
    if document is None:
        raise HTTPException(404, f"no document '{doc_id[:200]}'; GET /api/documents lists the documents")
    return document


def read_history(adapter: TypeAdapter, raw: str) -> tuple[list[dict], str | None]:
    """The form's hidden history; one that cannot be read starts the conversation afresh, with a notice."""
    try:
        turns = adapter.validate_python(json.loads(raw or "[]"))
    except (ValueError, ValidationError):
        return [], "The earlier conversation could not be read, so this question was answered on its own."
    return [turn.model_dump(exclude_none=True) for turn in turns][-MAX_HISTORY_TURNS:], None


def history_turn(answer: dict) -> dict:
    """What the next request needs of this turn: the question, the answer and its citations without full texts."""
    citations = [{k: v for k, v in c.items() if k != "text"} for c in answer["citations"]]
    return {"question": answer["question"], "answer": answer["answer"], "citations": citations}


ERROR_TITLES = {400: "The request could not be read", 404: "Not found", 405: "Not allowed here"}


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method some route offers at this path."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/healthz", "/openapi", "/static/"))


def explain(errors: list[dict]) -> str:
    """One sentence per problem, naming the field and what to change."""
    sentences = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "form")]
        where = ".".join(loc)
        if not where and error.get("type") != "json_invalid":
            sentences.append(f"{error.get('msg', 'invalid')}: send a JSON object such as {EXAMPLE_BODY}")
        elif error.get("type") == "extra_forbidden":
            sentences.append(f"unknown field '{where}': remove it (the schema at /openapi.json lists the fields)")
        elif error.get("type") == "missing":
            sentences.append(f"'{where}' is required")
        elif error.get("type") == "json_invalid":
            sentences.append(f"the body is not valid JSON: send a JSON object such as {EXAMPLE_BODY}")
        else:
            sentences.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(sentences)


def jsonable_errors(errors: list[dict]) -> list[dict]:
    """FastAPI's error list with inputs and contexts made JSON-safe (they may hold exceptions or bytes)."""
    safe = []
    for error in errors:
        item = {"loc": list(error.get("loc", ())), "msg": str(error.get("msg", "")), "type": str(error.get("type", ""))}
        if "input" in error:
            try:
                json.dumps(error["input"], ensure_ascii=False).encode("utf-8")
                item["input"] = error["input"]
            except (TypeError, ValueError):  # bytes, exceptions, unpaired surrogates: shown as Python writes them
                item["input"] = repr(error["input"])[:500]
        safe.append(item)
    return safe


def app_from_env() -> FastAPI:
    """For `uvicorn --factory assistant.web:app_from_env`: settings from ASSISTANT_* variables."""
    return create_app(Settings())
