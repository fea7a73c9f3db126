"""The web service over real HTTP: a live `assistant serve` subprocess, the real model and index."""

from __future__ import annotations

import html
import http.client
import json
import re
from html.parser import HTMLParser
from urllib.parse import quote

import httpx
import pytest

from assistant.corpus import Corpus
from assistant.settings import Settings

FLYNN = "What did Mr. Flynn say about alternatives to detention?"
CHAIR_590 = "Who chaired the 590th meeting?"
INJECTION = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def client(live_server):
    with httpx.Client(base_url=live_server.base_url, timeout=60) as http:
        yield http


def raw_get(live_server, path: str) -> tuple[int, str]:
    """GET a path exactly as written: httpx would normalise '..' and re-encode it."""
    connection = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def assert_422(response: httpx.Response, *words: str) -> str:
    """A validation error in FastAPI's shape whose message names what to change."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert isinstance(body["detail"], list) and body["detail"], body
    assert all({"loc", "msg", "type"} <= set(item) for item in body["detail"])
    message = body["message"]
    for word in words:
        assert word.lower() in message.lower(), message
    return message


# ---- health and schema ----


def test_healthz_reports_the_corpus_and_index(client, corpus: Corpus):
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["documents"] == len(corpus.documents)
    assert body["passages"] == len(corpus.passages)
    assert isinstance(body["index"], dict) and body["index"]


def test_openapi_describes_every_route_with_examples(client, settings: Settings):
    schema = client.get("/openapi.json").json()
    assert schema["info"]["description"]
    expected = {
        ("post", "/api/ask"),
        ("get", "/api/search"),
        ("get", "/api/documents"),
        ("get", "/api/documents/{doc_id}"),
        ("get", "/api/documents/{doc_id}/paragraphs/{label}"),
        ("get", "/healthz"),
        ("get", "/"),
        ("post", "/"),
        ("get", "/documents/{doc_id}"),
    }
    found = {(method, path) for path, ops in schema["paths"].items() for method in ops}
    assert expected <= found
    components = schema["components"]["schemas"]
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            assert op.get("summary") and op.get("description"), (method, path)
            ok = op["responses"]["200"]["content"]
            if "application/json" in ok:
                ref = ok["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
                has_examples = components[ref].get("examples") or any(
                    "examples" in prop for prop in components[ref].get("properties", {}).values()
                )
                assert has_examples, (method, path, ref)
    ask_body = schema["paths"]["/api/ask"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    ask_model = components[ask_body["$ref"].rsplit("/", 1)[-1]]
    assert ask_model["examples"]
    assert ask_model["properties"]["question"]["maxLength"] == settings.max_question_chars
    assert ask_model["additionalProperties"] is False


def test_docs_page_lists_the_routes_offline(client):
    page = client.get("/docs")
    assert page.status_code == 200
    for route in ("/api/ask", "/api/search", "/api/documents/{doc_id}/paragraphs/{label}", "/healthz"):
        assert route in page.text
    assert "cdn" not in page.text.lower()


# ---- security headers and the content security policy ----


@pytest.mark.parametrize(
    "path", ["/", "/api/documents", "/healthz", "/static/app.css", "/documents/CMW-C-SR.506", "/no/such/page"]
)
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


class InlineCode(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, style elements and attributes, on* handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.assets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        for name, _ in attrs:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"{name}= on <{tag}>")
        for name in ("src", "href"):
            if tag in ("script", "link") and names.get(name):
                self.assets.append(names[name])


@pytest.mark.parametrize("path", ["/", "/documents/CMW-C-SR.506", "/documents/CMW-GC6-concept-note", "/docs"])
def test_pages_satisfy_their_own_csp(client, path):
    parser = InlineCode()
    parser.feed(client.get(path).text)
    assert parser.problems == []
    assert parser.assets, "the page loads its CSS and JS from /static"
    for asset in parser.assets:
        assert asset.startswith("/static/"), asset
        response = client.get(asset)
        assert response.status_code == 200, asset


# ---- POST /api/ask ----


def test_ask_answers_with_citations_that_resolve(client, corpus: Corpus):
    answer = client.post("/api/ask", json={"question": FLYNN}).json()
    assert answer["question"] == FLYNN
    assert answer["abstained"] is False
    assert answer["citations"]
    numbers = {c["n"] for c in answer["citations"]}
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer["answer"])}
    assert markers and markers <= numbers
    for citation in answer["citations"]:
        assert citation["url"] == f"/documents/{citation['doc_id']}#{citation['anchor']}"
        passage = corpus.passage(citation["doc_id"], citation["paragraph"])
        assert passage is not None and passage.text == citation["text"]
        if citation["quote"]:
            assert citation["quote"] in citation["text"]
        reader = client.get(citation["url"].split("#")[0])
        assert f'id="{citation["anchor"]}"' in reader.text
    assert any(c["speaker"] == "Mr. Flynn" for c in answer["citations"])


def test_ask_follow_up_uses_history(client):
    first = client.post("/api/ask", json={"question": FLYNN}).json()
    turn = {"question": first["question"], "answer": first["answer"], "citations": first["citations"]}
    follow = client.post("/api/ask", json={"question": "What else did he say?", "history": [turn]})
    assert follow.status_code == 200, follow.text
    body = follow.json()
    assert body["question"] == "What else did he say?"
    assert body["resolved_question"]


def test_ask_within_one_document(client):
    body = client.post(
        "/api/ask", json={"question": "What was said about detention?", "filters": {"document": ["CMW-C-SR.232"]}}
    ).json()
    for item in body["citations"] + body["related"]:
        assert item["doc_id"] == "CMW-C-SR.232"


def test_ask_abstains_off_topic_with_related_passages(client):
    body = client.post("/api/ask", json={"question": "Which team won the last Olympic football tournament?"}).json()
    assert body["abstained"] is True
    assert body["citations"] == []
    assert body["related"], "an abstention offers the closest passages"


def test_ask_returns_markup_as_plain_data(client):
    body = client.post("/api/ask", json={"question": INJECTION})
    assert body.status_code == 200
    assert body.headers["content-type"].startswith("application/json")
    assert body.json()["question"] == INJECTION


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"question": ""}, ["empty"]),
        ({"question": "   \n\t "}, ["empty"]),
        ({}, ["question", "required"]),
        ({"question": 42}, ["question", "string"]),
        ({"question": None}, ["question"]),
        ({"question": ["a list"]}, ["question"]),
        ({"question": "ok?", "k": 0}, ["k"]),
        ({"question": "ok?", "k": 51}, ["k"]),
        ({"question": "ok?", "k": "5"}, ["k", "integer"]),
        ({"question": "ok?", "k": True}, ["k"]),
        ({"question": "ok?", "colour": "red"}, ["unknown field", "colour"]),
        ({"question": "ok?", "filters": {"colour": "red"}}, ["unknown field", "filters.colour"]),
        ({"question": "ok?", "filters": {"document": ["CMW-C-SR.999"]}}, ["filters.document"]),
        ({"question": "ok?", "filters": {"document": "CMW-C-SR.506"}}, ["filters.document", "list"]),
        ({"question": "ok?", "filters": {"date_from": "27/09/2022"}}, ["date_from"]),
        ({"question": "ok?", "filters": {"kind": ["chapter"]}}, ["kind"]),
        ({"question": "ok?", "filters": {"session": "Ninety-ninth session"}}, ["session"]),
        ({"question": "ok?", "filters": []}, ["filters"]),
        ({"question": "ok?", "history": "earlier"}, ["history"]),
        ({"question": "ok?", "history": [{"answer": "no question"}]}, ["history.0.question", "required"]),
        ({"question": "ok?", "history": [{"question": "q", "mood": "x"}]}, ["unknown field"]),
    ],
)
def test_ask_rejects_bad_input_saying_what_to_change(client, payload, words):
    assert_422(client.post("/api/ask", json=payload), *words)


def test_ask_rejects_an_overlong_question_naming_the_limit(client, settings: Settings):
    limit = settings.max_question_chars
    message = assert_422(client.post("/api/ask", json={"question": "x" * (limit + 1)}), "shorten")
    assert str(limit) in message
    assert client.post("/api/ask", json={"question": "x" * (limit - 1) + "?"}).status_code == 200


def test_ask_rejects_an_unpaired_surrogate(client):
    body = json.dumps({"question": "ok \ud800?"})  # ASCII JSON with the escape \ud800: valid JSON, invalid text
    response = client.post("/api/ask", content=body, headers={"content-type": "application/json"})
    assert_422(response, "surrogate")


def test_ask_accepts_k_as_a_json_integer_written_with_a_point(client):
    # JSON Schema counts 3.0 as an integer; schemathesis sends such numbers
    assert client.post("/api/ask", json={"question": CHAIR_590, "k": 3.0}).status_code == 200
    assert_422(client.post("/api/ask", json={"question": CHAIR_590, "k": 3.5}), "k")


def test_a_wrong_method_names_every_allowed_one(client):
    response = client.request("OPTIONS", "/")
    assert response.status_code == 405
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["allow"].split(",")}
    assert client.delete("/api/ask").headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"question=hi", "application/x-www-form-urlencoded"), (b"{not json", "application/json"), (b"", "")],
)
def test_ask_rejects_a_body_that_is_not_a_json_object(client, content, content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/api/ask", content=content, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["message"]


# ---- GET /api/search ----


def test_search_ranks_passages(client):
    body = client.get("/api/search", params={"q": "alternatives to detention", "k": 5}).json()
    hits = body["hits"]
    assert len(hits) == 5
    assert [h["rank"] for h in hits] == [1, 2, 3, 4, 5]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert all("detention" in h["text"].lower() for h in hits[:2])
    assert all(h["url"] == f"/documents/{h['doc_id']}#{h['anchor']}" for h in hits)


def test_search_filters(client):
    by_doc = client.get("/api/search", params={"q": "migration", "document": ["CMW-C-SR.590", "CMW/C/SR.608"]})
    assert {h["document"] for h in by_doc.json()["hits"]} <= {"CMW/C/SR.590", "CMW/C/SR.608"}
    headers = client.get("/api/search", params={"q": "chair", "kind": "header"}).json()["hits"]
    assert headers and all(h["kind"] == "header" for h in headers)
    flynn = client.get("/api/search", params={"q": "detention", "speaker": "Flynn"}).json()["hits"]
    assert flynn and all("Flynn" in h["speaker"] for h in flynn)
    recent = client.get("/api/search", params={"q": "Convention", "date_from": "2024"}).json()["hits"]
    assert recent and all(h["date"] >= "2024" for h in recent)
    bm25 = client.get("/api/search", params={"q": "Flynn", "mode": "bm25", "k": 3}).json()
    assert bm25["mode"] == "bm25" and all(h["bm25_rank"] for h in bm25["hits"])


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({}, ["q", "required"]),
        ({"q": ""}, ["empty"]),
        ({"q": "   "}, ["empty"]),
        ({"q": "x", "k": 0}, ["k"]),
        ({"q": "x", "k": 51}, ["k"]),
        ({"q": "x", "k": "many"}, ["k", "integer"]),
        ({"q": "x", "mode": "magic"}, ["mode"]),
        ({"q": "x", "document": "CMW-C-SR.999"}, ["document"]),
        ({"q": "x", "kind": "chapter"}, ["kind"]),
        ({"q": "x", "date_to": "next year"}, ["date_to"]),
        ({"q": "x", "colour": "red"}, ["unknown parameter", "colour"]),
    ],
)
def test_search_rejects_bad_parameters(client, params, words):
    assert_422(client.get("/api/search", params=params), *words)


def test_search_rejects_an_overlong_query(client, settings: Settings):
    assert_422(client.get("/api/search", params={"q": "x" * (settings.max_question_chars + 1)}), "shorten")


# ---- documents and paragraphs ----


def test_documents_list_the_corpus(client, corpus: Corpus):
    body = client.get("/api/documents").json()
    assert {d["id"] for d in body["documents"]} == {d.id for d in corpus.documents}
    assert sum(d["passages"] for d in body["documents"]) == body["passages"] == len(corpus.passages)
    sr506 = next(d for d in body["documents"] if d["id"] == "CMW-C-SR.506")
    assert sr506["document"] == "CMW/C/SR.506" and sr506["date"] == "2022-09-27"
    assert sr506["url"] == "/documents/CMW-C-SR.506"


def test_one_document_with_its_passages_in_order(client, corpus: Corpus):
    body = client.get("/api/documents/CMW-C-SR.506").json()
    assert body["document"]["id"] == "CMW-C-SR.506"
    passages = body["passages"]
    assert len(passages) == len(corpus.passages_of("CMW-C-SR.506"))
    assert [p["order"] for p in passages] == sorted(p["order"] for p in passages)
    assert passages[0]["kind"] == "header"


@pytest.mark.parametrize(
    ("doc_id", "label", "paragraph"),
    [
        ("CMW-C-SR.506", "24", "24"),
        ("CMW-C-SR.506", "para-24", "24"),
        ("CMW-C-SR.506", "header", "header"),
        ("CMW-GC6-concept-note", "fn. 1", "fn. 1"),
        ("CMW-GC6-concept-note", "sect-2-para-3", "sect. 2, para. 3"),
    ],
)
def test_one_paragraph_by_label_or_anchor(client, corpus: Corpus, doc_id, label, paragraph):
    response = client.get(f"/api/documents/{doc_id}/paragraphs/{quote(label)}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["paragraph"] == paragraph
    assert body["text"] == corpus.passage(doc_id, paragraph).text


def test_unknown_document_and_paragraph_are_404_with_a_pointer(client):
    missing_doc = client.get("/api/documents/CMW-C-SR.999")
    assert missing_doc.status_code == 404
    assert "CMW-C-SR.999" in missing_doc.json()["detail"] and "/api/documents" in missing_doc.json()["detail"]
    missing_para = client.get("/api/documents/CMW-C-SR.506/paragraphs/999")
    assert missing_para.status_code == 404
    assert "999" in missing_para.json()["detail"] and "/api/documents/CMW-C-SR.506" in missing_para.json()["detail"]
    page = client.get("/documents/CMW-C-SR.999")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert "CMW-C-SR.999" in page.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/documents/../../etc/passwd",
        "/api/documents/..%2F..%2F..%2Fetc%2Fpasswd",
        "/api/documents/%2e%2e%2f%2e%2e%2fpyproject.toml",
        "/api/documents/%252e%252e%252fpyproject.toml",
        "/api/documents/..",
        "/api/documents/CMW-C-SR.506/paragraphs/..%2F..%2F..%2Fetc%2Fpasswd",
        "/api/documents/CMW-C-SR.506/paragraphs/%2e%2e",
        "/documents/..%2F..%2Fpyproject.toml",
        "/documents/..%5C..%5Cpyproject.toml",
        "/documents/%00",
        "/static/../assistant/web.py",
        "/static/..%2Fassistant%2Fweb.py",
        "/static/%2e%2e/%2e%2e/pyproject.toml",
        "/static/....//....//etc/passwd",
    ],
)
def test_path_like_ids_never_reach_the_file_system(live_server, path):
    status, body = raw_get(live_server, path)
    assert status in (400, 404), (path, status)
    for leaked in ("root:", "[build-system]", "def create_app"):
        assert leaked not in body, (path, leaked)


# ---- pages ----


def test_reader_shows_structure_and_marks_the_quote(client, corpus: Corpus):
    para = corpus.passage("CMW-C-SR.506", "24")
    sentence = para.text.split(". ")[1]
    page = html.unescape(client.get("/documents/CMW-C-SR.506", params={"quote": sentence, "anchor": "para-24"}).text)
    assert 'id="para-24"' in page and 'id="header"' in page
    assert '<h2 class="document-section">' in page
    assert "Mr. Flynn" in page
    assert f"<mark>{sentence}</mark>" in page
    assert page.count("<mark>") == 1


def test_reader_shows_inferred_labels_as_such(client, corpus: Corpus):
    inferred = [p for p in corpus.passages if p.inferred]
    assert inferred, "the corpus has an inferred header (CMW/C/SR.232)"
    page = client.get(f"/documents/{inferred[0].doc_id}").text
    assert "is-inferred" in page and "Inferred" in page


def test_chat_page_shows_examples_and_the_corpus(client, corpus: Corpus):
    page = client.get("/").text
    assert "How many States parties does the Convention have?" in page
    for document in corpus.documents:
        assert document.cite_as in page
    assert 'name="question"' in page and 'action="/"' in page and 'method="post"' in page
    assert 'role="status"' in page and 'aria-live="polite"' in page
    assert 'role="log"' not in page, "whole answers are not read out: the status line says when one is ready"


def test_no_javascript_form_post_answers_and_keeps_the_conversation(client):
    first = client.post("/", data={"question": CHAIR_590}, follow_redirects=True)
    assert first.status_code == 200 and "text/html" in first.headers["content-type"]
    assert CHAIR_590 in first.text
    assert 'class="answer' in first.text and 'class="source-link"' in first.text
    history = re.search(r'name="history" id="history" value="([^"]*)"', first.text).group(1)
    turns = json.loads(html.unescape(history))
    assert turns[0]["question"] == CHAIR_590
    second = client.post(
        "/", data={"question": "When was that meeting held?", "history": json.dumps(turns)}, follow_redirects=True
    )
    assert second.status_code == 200
    assert second.text.count('class="turn"') == 2
    assert CHAIR_590 in second.text and "When was that meeting held?" in second.text


def test_no_javascript_form_post_rejects_a_blank_question(client):
    page = client.post("/", data={"question": "   "})
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    assert "the question is empty" in page.text
    missing = client.post("/", data={})
    assert missing.status_code == 422 and "text/html" in missing.headers["content-type"]


def test_no_javascript_form_post_redirects_to_the_permalink_that_answers_it(client):
    history = json.dumps([{"question": CHAIR_590}])
    form = {"question": "When was it held?", "history": history, "session": "Thirty-ninth session", "kind": "header"}
    posted = client.post("/", data=form)
    assert posted.status_code == 303
    location = posted.headers["location"]
    assert location == (
        "/?q=When+was+it+held%3F&prev=Who+chaired+the+590th+meeting%3F&session=Thirty-ninth+session&kind=header#latest"
    )
    page = client.get(location)
    assert page.status_code == 200
    assert page.text.count('class="turn"') == 2
    assert "13 December 2024" in page.text
    assert 'value="Thirty-ninth session" selected' in page.text


def test_permalink_with_a_bad_filter_says_what_to_change(client):
    page = client.get("/", params={"q": CHAIR_590, "date_to": "soon"})
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    assert "date_to 'soon' is not valid: write a date as 2022, 2022-09 or 2022-09-27" in html.unescape(page.text)
    assert CHAIR_590 in page.text, "the question stays in the box to fix and send again"
    unknown = client.get("/", params={"q": CHAIR_590, "document": "CMW-C-SR.999"})
    assert unknown.status_code == 422 and "choose one from the list" in unknown.text


def test_citations_name_their_session_and_meeting(client):
    answer = client.post("/api/ask", json={"question": CHAIR_590}).json()
    first = answer["citations"][0]
    assert (first["session"], first["meeting"]) == ("Thirty-ninth session", 590)


def test_no_javascript_form_post_survives_a_damaged_history(client):
    page = client.post("/", data={"question": CHAIR_590, "history": "{not json"})
    assert page.status_code == 200
    assert "could not be read" in page.text


def test_no_javascript_form_post_escapes_the_question(client):
    page = client.post("/", data={"question": INJECTION}, follow_redirects=True).text
    assert INJECTION not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
