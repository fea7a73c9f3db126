"""The web service: a JSON API and a chat page over one Assistant, loaded once when the app is created.

Routes stay thin: they validate, call the Assistant in a worker thread (model inference must not block
the event loop), and render. Request models are built per app because their limits come from the
settings (longest question) and the corpus (document names), so the OpenAPI schema states exactly
what the server accepts.

Where things are: this module holds the app, its routes and error handling; api_models.py the request and
response models; pages.py the HTML rendering helpers the templates use.
"""

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Literal

from fastapi import FastAPI, Form, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp

from assistant import __version__
from assistant.api_models import (
    ISO_DATE,
    KINDS,
    MAX_HISTORY_TURNS,
    MAX_K,
    NON_FINITE,
    AnswerOut,
    DocumentDetailOut,
    DocumentsOut,
    ErrorOut,
    HealthOut,
    PassageOut,
    SearchOut,
    check_question,
    invalid,
    question_schema,
    request_models,
)
from assistant.corpus import Corpus
from assistant.middleware import MAX_BODY_BYTES, RequestLimits, SecurityHeaders
from assistant.pages import KIND_LABELS, WEB_DIR, api_reference, form_filters, make_templates, permalink, reader_blocks
from assistant.passages import Passage
from assistant.retrieval import Filters, check_date
from assistant.service import Assistant
from assistant.settings import Settings

logger = logging.getLogger(__name__)
MODES = ("hybrid", "dense", "bm25")
PAGE_DATE = "^(?:" + ISO_DATE[1:-1] + ")?$"  # a page's date field: a real ISO date, or blank for none
PATTERN_HINTS = {
    ISO_DATE: "write a date as 2022, 2022-09 or 2022-09-27",
    PAGE_DATE: "write a date as 2022, 2022-09 or 2022-09-27",
}
EXAMPLE_BODY = '{"question": "Who chaired the 590th meeting?"}'
EXAMPLE_QUESTIONS = [
    "How many States parties does the Convention have?",
    "What did Mr. Flynn say about alternatives to detention?",
    "Who chaired the 590th meeting?",
    "Why do so few States ratify the Convention?",
]


def warmed_up(assistant: Assistant):
    """A lifespan that answers one question in the thread pool the routes run in before the server takes its first
    request: the model loads, the pool starts, lazily imported modules load, so the first answers are as quick as
    the later ones."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(assistant.warm_up)
        yield

    return lifespan


class App(FastAPI):
    """FastAPI with the limits and security headers outside its error handling: a 500 from Starlette's
    ServerErrorMiddleware, and a 413 sent before any route runs, carry the headers too."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(RequestLimits(super().build_middleware_stack()))


# ---- turning pipeline records into response dicts ----


# The `{doc_id}` path parameter of every document route: in memory only, never a file path.
DocIdPath = Annotated[str, Path(description="Document id, e.g. CMW-C-SR.506.", examples=["CMW-C-SR.506"])]


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


# ---- the application ----


def create_app(settings: Settings, assistant: Assistant | None = None) -> FastAPI:
    """The web service over one Assistant; opens it from settings (raising IndexNotReady) when none is given."""
    assistant = assistant or Assistant.open(settings)
    corpus = assistant.corpus
    names = sorted({d.id for d in corpus.documents} | {d.cite_as for d in corpus.documents})
    sessions = sorted({p.session for p in corpus.passages if p.session})
    models = request_models(settings.max_question_chars, names, sessions, [d.id for d in corpus.documents])
    # Literal[()] cannot be built: a corpus without sessions (general comments only) takes any session string
    Session = Literal[tuple(sessions)] if sessions else str  # type: ignore[valid-type]
    AskRequest = models.ask
    templates = make_templates()
    documents = [document_dict(corpus, d.id) for d in corpus.documents]
    documents.sort(key=lambda d: d["date"] or "", reverse=True)
    max_chars = settings.max_question_chars

    app = App(
        title="CMW records assistant",
        version=__version__,
        description=(
            "Citation-grounded answers from UN Committee on Migrant Workers records. Every answer cites "
            "the paragraphs it rests on ([n] markers), or abstains when the records do not answer. "
            "Documents are read in memory only; ids never reach the file system."
        ),
        docs_url=None,  # Swagger UI and ReDoc load from a CDN; /docs is our own offline page over /openapi.json
        redoc_url=None,
        lifespan=warmed_up(assistant),
    )
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse | HTMLResponse:
        errors = [located(error) for error in exc.errors()]
        message = explain(errors)
        if request.url.path == "/":  # the chat page keeps its form and question, with the problem above the box
            return chat(request, {"error": message, "question": request.query_params.get("q", "")}, 422)
        if is_page(request):
            return page(request, "error.html", {"title": "Check the request", "message": message}, 422)
        return JSONResponse({"detail": jsonable_errors(errors), "message": message}, status_code=422)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        # Starlette logs the traceback; the client learns only that it is our fault, not the details.
        return JSONResponse({"detail": "internal error: the server could not answer this request"}, status_code=500)

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
        base |= {"sessions": sessions, "kinds": KIND_LABELS}
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
            413: {
                "model": ErrorOut,
                "description": f"The body is larger than the server accepts ({MAX_BODY_BYTES // 2**20} MiB).",
            },
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
        return with_document_facts(answer.to_dict(), corpus)

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
        session: Annotated[Session | None, Query(examples=sessions[:1])] = None,  # type: ignore[valid-type]
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
        for name, value in (("date_from", date_from), ("date_to", date_to)):
            try:
                check_date(name, value)
            except ValueError as err:
                raise invalid(("query", name), str(err), value) from None
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
        doc_id: DocIdPath,
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
        doc_id: DocIdPath,
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
    async def healthz() -> dict:  # on the event loop: never queued behind asks waiting in worker threads
        info = index_info(assistant)
        return {
            "status": "ok",
            "version": __version__,
            "documents": len(corpus.documents),
            "passages": len(corpus.passages),
            "index": info,
        }

    # ---- pages ----

    def chat(request: Request, context: dict, status_code: int = 200) -> HTMLResponse:
        base = {"turns": [], "examples": EXAMPLE_QUESTIONS, "history_json": "[]", "filters": {}, "question": ""}
        return page(request, "chat.html", base | context, status_code)

    def converse(questions: list[str], filters: dict) -> tuple[list[dict], str | None]:
        """Ask each question after the ones before it, as the conversation did; stop at a fault and say what."""
        turns: list[dict] = []
        for number, question in enumerate(questions):
            history = [history_turn(turn) for turn in turns][-MAX_HISTORY_TURNS:]
            try:
                answer = assistant.ask(
                    question, history=history or None, filters=Filters(**filters) if filters else None
                )
            except ValueError:
                raise  # the pipeline's own checks: the caller says what to change
            except Exception as err:  # a fault of ours: show it in place, with a Retry that asks again
                logger.exception("could not answer %r", question[:200])
                return turns, f"the server could not answer ({type(err).__name__}); try again in a moment"
            turn = with_document_facts(answer.to_dict(), corpus)
            turns.append(turn | {"permalink": permalink(question, questions[:number], filters)})
        return turns, None

    @app.get(
        "/",
        response_class=HTMLResponse,
        tags=["pages"],
        summary="The chat page",
        description=(
            "Ask questions in a conversation; answers cite the paragraphs they rest on. With `q`, the page answers "
            "that question (after the `prev` questions, as a follow-up) with the filters given: a permalink."
        ),
        responses={
            422: {
                "description": "A parameter is not valid; the page says what to change.",
                "content": {"text/html": {}},
            },
            500: {"description": "The answer failed; the page says so and offers Retry.", "content": {"text/html": {}}},
        },
    )
    def chat_page(
        request: Request,
        q: Annotated[str | None, Query(description="A question to answer.", max_length=max_chars)] = None,
        prev: Annotated[
            list[str],
            Query(
                description="Earlier questions of the conversation, oldest first.",
                max_length=MAX_HISTORY_TURNS - 1,
                json_schema_extra={"items": {"type": "string", **question_schema(max_chars)}},
            ),
        ] = [],  # noqa: B006 - FastAPI copies it
        document: Annotated[
            str | None, Query(description="Only this document ('' = all).", json_schema_extra={"enum": ["", *names]})
        ] = None,
        session: Annotated[
            str | None, Query(description="Only this session ('' = all).", json_schema_extra={"enum": ["", *sessions]})
        ] = None,
        date_from: Annotated[str | None, Query(pattern=PAGE_DATE, examples=["2022-01-01"])] = None,
        date_to: Annotated[str | None, Query(pattern=PAGE_DATE, examples=["2024-12-31"])] = None,
        speaker: Annotated[str | None, Query(max_length=200, examples=["Mr. Flynn"])] = None,
        kind: Annotated[list[Literal[KINDS]], Query(description="Passage kinds (repeatable).")] = [],  # type: ignore[valid-type] # noqa: B006 - FastAPI copies it
    ) -> HTMLResponse:
        values = dict(document=document, session=session, date_from=date_from, date_to=date_to, speaker=speaker)
        context: dict = {"filters": values | {"kind": kind or []}}
        try:  # every parameter is checked, asked or not, so that a bad link says so
            filters = form_filters(values | {"kind": kind}, names, sessions)
            earlier = [check_question(text, max_chars) for text in prev or []]
        except ValueError as err:
            return chat(request, context | {"error": str(err), "question": q or ""}, 422)
        if not q or not q.strip():
            return chat(request, context)
        questions = [*earlier, q.strip()]
        try:
            turns, fault = converse(questions, filters)
        except ValueError as err:  # the pipeline's own checks (a filter that names nothing known)
            return chat(request, context | {"error": str(err), "question": q}, 422)
        context |= {"turns": turns, "history_json": json.dumps([history_turn(t) for t in turns][-MAX_HISTORY_TURNS:])}
        if fault:
            failed = {"question": questions[len(turns)], "retry": f"/?{request.url.query}#latest", "error": fault}
            return chat(request, context | {"failed": failed}, 500)
        return chat(request, context | {"latest": turns[-1]})

    @app.post(
        "/",
        response_class=HTMLResponse,
        tags=["pages"],
        summary="Ask without JavaScript",
        description=(
            "The chat form posted as a plain form: redirects (303) to the permalink `/?q=...` that answers it, so "
            "that reloading the answer does not send the form again."
        ),
        responses={
            303: {"description": "Asked: go to the page that answers it."},
            400: {"description": "The form could not be read.", "content": {"text/html": {}}},
            413: {
                "model": ErrorOut,
                "description": f"The form is larger than the server accepts ({MAX_BODY_BYTES // 2**20} MiB).",
            },
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
        session: Annotated[str, Form(json_schema_extra={"enum": ["", *sessions]})] = "",
        date_from: Annotated[str, Form(pattern=PAGE_DATE)] = "",
        date_to: Annotated[str, Form(pattern=PAGE_DATE)] = "",
        speaker: Annotated[str, Form(max_length=200)] = "",
        kind: Annotated[list[Literal[KINDS]], Form(description="Passage kinds.")] = [],  # type: ignore[valid-type] # noqa: B006 - FastAPI copies it
    ) -> Response:
        turns, notice = read_history(models.history, history)
        values = dict(document=document, session=session, date_from=date_from, date_to=date_to, speaker=speaker)
        context = {"turns": turns, "question": question, "filters": values | {"kind": kind or []}}
        try:
            text = check_question(question, max_chars)
            filters = form_filters(values | {"kind": kind}, names, sessions)
        except ValueError as err:
            return chat(request, context | {"error": str(err), "history_json": json.dumps(turns)}, 422)
        earlier = [turn["question"] for turn in turns]
        if notice is None:
            return RedirectResponse(permalink(text, earlier, filters), status_code=303)
        # The earlier conversation was lost: answer here, with the notice (a reload asks again, which is harmless).
        answered, fault = converse([text], filters)
        context |= {"turns": answered, "notice": notice, "question": ""}
        context |= {"history_json": json.dumps([history_turn(t) for t in answered])}
        if fault:
            return chat(request, context | {"failed": {"question": text, "retry": None, "error": fault}}, 500)
        return chat(request, context | {"latest": answered[-1]})

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
        doc_id: DocIdPath,
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
        turns = adapter.validate_python(json.loads(raw or "[]", parse_constant=refuse_constant))
    except (ValueError, ValidationError):
        return [], "The earlier conversation could not be read, so this question was answered on its own."
    return [turn.model_dump(exclude_none=True) for turn in turns][-MAX_HISTORY_TURNS:], None


def with_document_facts(answer: dict, corpus: Corpus) -> dict:
    """Each citation with its document's session and meeting where the answer does not give them."""
    for citation in [*answer.get("citations", []), *answer.get("related", [])]:
        document = corpus.document(citation.get("doc_id") or "")
        if document is not None:
            citation["session"] = citation.get("session") or document.session
            citation["meeting"] = citation.get("meeting") or document.meeting
    return answer


def refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


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


def located(error: dict) -> dict:
    """An error as the client should read it: a non-finite number (found by a check over the whole body) at the
    field it was in; a date that does not match the date pattern explained in words, not as the pattern."""
    if error.get("type") == NON_FINITE:
        path = [int(p) if p.isdigit() else p for p in error.get("ctx", {}).get("path", "").split(".") if p]
        return {**error, "loc": ("body", *path), "input": None}
    if error.get("type") == "string_pattern_mismatch" and error.get("ctx", {}).get("pattern") == ISO_DATE:
        try:
            check_date(str(error["loc"][-1]), str(error.get("input")))
        except ValueError as err:
            return {**error, "msg": str(err), "ctx": {}}
    return error


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
        elif (
            error.get("type") == "string_pattern_mismatch" and (error.get("ctx") or {}).get("pattern") in PATTERN_HINTS
        ):
            hint = PATTERN_HINTS[error["ctx"]["pattern"]]
            sentences.append(f"{where} {str(error.get('input'))[:40]!r} is not valid: {hint}")
        else:
            sentences.append(f"{where}: {str(error.get('msg', 'invalid')).removeprefix('Value error, ')}")
    return "; ".join(sentences)


def jsonable_errors(errors: list[dict]) -> list[dict]:
    """FastAPI's error list with inputs and contexts made JSON-safe (they may hold exceptions or bytes)."""
    safe = []
    for error in errors:
        item = {"loc": list(error.get("loc", ())), "msg": str(error.get("msg", "")), "type": str(error.get("type", ""))}
        if "input" in error:
            item["input"] = input_excerpt(error["input"])
        safe.append(item)
    return safe


MAX_ECHO_CHARS = 200  # a 422 echoes this much of a bad input: enough to recognise it, never the 10 MB sent


def input_excerpt(value: object) -> object:
    """A bad input as a 422 may echo it: as sent when short, else its beginning; JSON-safe either way."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        text.encode("utf-8")
    except (TypeError, ValueError):  # bytes, exceptions, NaN and infinities, unpaired surrogates
        text = repr(value)
        return text if len(text) <= MAX_ECHO_CHARS else text[: MAX_ECHO_CHARS - 1] + "…"
    if len(text) <= MAX_ECHO_CHARS:
        return value
    return (value if isinstance(value, str) else text)[: MAX_ECHO_CHARS - 1] + "…"


def app_from_env() -> FastAPI:
    """For `uvicorn --factory assistant.web:app_from_env`: settings from ASSISTANT_* variables."""
    return create_app(Settings())
