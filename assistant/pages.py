"""HTML rendering for the chat page, the document reader and /docs: Jinja filters and the data they lay out.

Everything here turns records (answers, citations, passages, the OpenAPI schema) into escaped markup or rows
for the templates in web/templates; none of it touches the pipeline.
"""

import re
from datetime import date as Date
from pathlib import Path
from typing import Any
from urllib.parse import quote as quote_path
from urllib.parse import urlencode

from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from assistant import __version__
from assistant.passages import Passage, slug_label
from assistant.settings import PROJECT_ROOT


def find_web_dir() -> Path:
    """Templates and static files: web/ in a checkout; assistant/web_files/ in an installed wheel (pyproject.toml
    maps web/ there as package data, so `pip install .` and a wheel from an index can serve the page)."""
    installed = Path(__file__).resolve().parent / "web_files"
    return installed if (installed / "templates").is_dir() else PROJECT_ROOT / "web"


WEB_DIR = find_web_dir()
FILTER_FIELDS = ("document", "session", "date_from", "date_to", "speaker", "kind")
KIND_LABELS = {"paragraph": "Paragraphs", "header": "Headers (who, when, where)", "footnote": "Footnotes"}
ISO_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
URL_BUDGET = 6000  # longest permalink; uvicorn refuses request lines much over 8 KB, so older questions drop out


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
    """Answer text escaped, each [n] (or [1, 2]) a link to source n of this turn (the no-JavaScript page)."""
    out = Markup()
    last = 0
    for match in re.finditer(r"\[(\d+(?:\s*,\s*\d+)*)\]", text):
        cited = [int(part) for part in match.group(1).split(",")]
        if not all(n in numbers for n in cited):
            continue
        out += escape(re.sub(r" $", "\u00a0", text[last : match.start()]))  # keep [n] on its claim's line
        for n in cited:
            out += Markup('<a class="marker" href="#t{}-src-{}" aria-label="Source {}">[{}]</a>').format(turn, n, n, n)
        last = match.end()
    return out + escape(text[last:])


def ordinal(number: int | None) -> str:
    """590 -> '590th', 21 -> '21st', 12 -> '12th'."""
    if number is None:
        return ""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def confidence_words(value: float | None) -> str:
    """How sure an answer is, in words with the API's figure: 0.82 -> 'likely answered (0.82)'."""
    if value is None:
        return ""
    words = "likely answered" if value >= 0.7 else "possibly answered" if value >= 0.4 else "probably not answered"
    return f"{words} ({value:.2f})"


# ---- the chat page's filters and permalinks ----


def form_filters(values: dict, documents: list[str], sessions: list[str]) -> dict:
    """The filters a page request chose (blank fields left out), checked; ValueError saying what to change."""
    chosen: dict[str, Any] = {}
    document, session = values.get("document") or "", values.get("session") or ""
    if document:
        if document not in documents:
            raise ValueError(f"no document '{document[:200]}'; choose one from the list")
        chosen["document"] = [document]
    if session:
        if session not in sessions:
            raise ValueError(f"no session '{session[:200]}'; choose one of: {', '.join(sessions)}")
        chosen["session"] = session
    for name in ("date_from", "date_to"):
        value = (values.get(name) or "").strip()
        if value and not ISO_DATE.match(value):
            raise ValueError(
                f"{name.replace('_', ' ')} '{value[:40]}' is not a date: write 2022, 2022-09 or 2022-09-27"
            )
        if value:
            chosen[name] = value
    speaker = (values.get("speaker") or "").strip()
    if len(speaker) > 200:
        raise ValueError("the speaker is longer than 200 characters: shorten it")
    if speaker:
        chosen["speaker"] = speaker
    kinds = [k for k in values.get("kind") or [] if k]
    unknown = [k for k in kinds if k not in KIND_LABELS]
    if unknown:
        raise ValueError(f"no passage kind '{unknown[0][:40]}'; choose from: {', '.join(KIND_LABELS)}")
    if kinds:
        chosen["kind"] = kinds
    return chosen


def filter_params(filters: dict) -> list[tuple[str, str]]:
    """Filters as query parameters, one per value: [('document', 'CMW-C-SR.506'), ('kind', 'header')]."""
    params = []
    for name in FILTER_FIELDS:
        value = filters.get(name)
        for item in value if isinstance(value, list) else [value] if value else []:
            params.append((name, item))
    return params


def permalink(question: str, earlier: list[str], filters: dict) -> str:
    """The address that asks this question again, after the earlier questions of its conversation, with the same
    filters: /?q=...&prev=... . The oldest questions are left out where the address would grow too long."""
    earlier = list(earlier)
    while True:
        query = urlencode([("q", question), *(("prev", q) for q in earlier), *filter_params(filters)])
        if len(query) <= URL_BUDGET or not earlier:
            return f"/?{query}#latest"
        earlier.pop(0)


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
        ordinal=ordinal,
        confidence=confidence_words,
    )
    templates.env.globals.update(version=__version__)
    return templates
