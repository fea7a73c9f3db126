"""The chat page and reader in real Chromium (Debian's), driven by Playwright against the live server.

Screenshots of each step go to tests/artifacts/ (gitignored).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.settings import PROJECT_ROOT

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
AXE = PROJECT_ROOT / "tests" / ".npm" / "node_modules" / "axe-core" / "axe.min.js"  # make install-test fetches it
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
FLYNN = "What did Mr. Flynn say about alternatives to detention?"
INJECTION = "<img src=x onerror=alert(1)>"
ANSWER_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Debian's chromium is missing: apt-get install chromium (make install-test does it)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh page on the live server that records console errors, page errors and dialogs."""
    context = browser.new_context(base_url=live_server.base_url, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.problems = []  # type: ignore[attr-defined]
    page.dialogs = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.on("pageerror", lambda e: page.problems.append(str(e)))

    def on_dialog(dialog):
        page.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    yield page
    context.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def ask(page, question: str) -> None:
    """Type the question and press Enter; wait for its answer to replace the loading indicator."""
    before = page.locator(".turn").count()
    page.fill("#question", question)
    page.press("#question", "Enter")
    page.locator(".turn").nth(before).locator(".answer:not(.loading)").wait_for(timeout=ANSWER_TIMEOUT_MS)


def test_ask_cite_open_panel_and_reader(page):
    page.goto("/")
    assert page.locator("#intro").is_visible()
    shot(page, "01-first-visit")

    ask(page, FLYNN)
    answer = page.locator(".turn").last.locator(".answer")
    assert "abstained" not in (answer.get_attribute("class") or "")
    assert page.locator(".turn .question-text").last.text_content() == FLYNN
    markers = answer.locator(".marker")
    assert markers.count() >= 1
    assert answer.locator(".source").count() >= 1
    assert answer.locator(".source-quote").first.text_content(), "the quoted sentences lead each source"
    assert not page.locator("#intro").is_visible()
    shot(page, "02-answer")

    first = markers.first
    label = first.get_attribute("aria-label").split(": ", 1)[1]
    first.click()
    panel = page.locator("#source-panel")
    panel.wait_for(state="visible")
    assert page.locator("#panel-title").text_content() == label
    assert page.evaluate("document.activeElement.id") == "panel-title"
    assert panel.locator(".panel-text").text_content()
    shot(page, "03-source-panel")

    page.keyboard.press("Escape")
    panel.wait_for(state="hidden")
    assert page.evaluate("document.activeElement.classList.contains('marker')"), "focus returns to the marker"

    answer.locator(".source-link").first.click()
    panel.wait_for(state="visible")
    href = page.locator("#open-reader").get_attribute("href")
    anchor = href.rsplit("#", 1)[1]
    page.click("#open-reader")
    page.wait_for_url("**/documents/**")
    target = page.locator(f"[id='{anchor}']")
    target.wait_for()
    page.wait_for_function("document.querySelector('.passage.is-target') !== null")
    assert "is-target" in target.get_attribute("class")
    assert page.evaluate("document.querySelector('.passage.is-target').id") == anchor
    assert target.locator("mark").count() == 1, "the quoted sentence is marked in the reader"
    box = target.bounding_box()
    assert box and 0 <= box["y"] < 860, "the linked paragraph is scrolled into view"
    shot(page, "04-reader")

    page.go_back()
    page.locator(".turn .answer:not(.loading)").first.wait_for()
    assert page.locator(".turn .question-text").first.text_content() == FLYNN, "the conversation survives the reader"
    assert page.problems == []


def test_injection_question_is_shown_as_text(page):
    page.goto("/")
    ask(page, INJECTION)
    assert page.locator(".turn .question-text").last.text_content() == INJECTION
    assert page.locator("#conversation img").count() == 0
    page.wait_for_timeout(300)
    assert page.dialogs == []
    shot(page, "05-injection")
    assert page.problems == []


def test_keyboard_enter_sends_and_shift_enter_breaks_the_line(page):
    page.goto("/")
    page.focus("#question")
    page.keyboard.type("Who chaired")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("the 590th meeting?")
    assert page.input_value("#question") == "Who chaired\nthe 590th meeting?"
    assert page.locator(".turn").count() == 0
    page.keyboard.press("Enter")
    page.locator(".turn .answer:not(.loading)").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert page.input_value("#question") == ""
    assert page.evaluate("document.activeElement.id") == "question", "focus stays in the question box"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "send"


def test_follow_up_sends_the_conversation_and_new_conversation_clears_it(page):
    page.goto("/")
    page.locator(".example").filter(has_text="590th").click()
    page.locator(".turn .answer:not(.loading)").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    with page.expect_request("**/api/ask") as request_info:
        ask(page, "When was it held?")
    sent = json.loads(request_info.value.post_data)
    assert sent["question"] == "When was it held?"
    assert sent["history"][0]["question"] == "Who chaired the 590th meeting?"
    assert page.locator(".turn").count() == 2

    page.click("#new-conversation")
    assert page.locator(".turn").count() == 0
    assert page.locator("#intro").is_visible()
    page.reload()
    assert page.locator(".turn").count() == 0, "a new conversation stays new after a reload"


def test_abstention_offers_related_passages(page):
    page.goto("/")
    ask(page, "Which team won the last Olympic football tournament?")
    answer = page.locator(".turn").last.locator(".answer")
    assert "abstained" in answer.get_attribute("class")
    assert answer.locator(".answer-kicker").text_content().startswith("No answer in the records")
    shot(page, "06-abstention")


def test_document_filter_limits_the_sources(page):
    page.goto("/")
    page.click("#filters summary")
    page.select_option("#document-filter", "CMW-C-SR.232")
    with page.expect_request("**/api/ask") as request_info:
        ask(page, "What did the Deputy High Commissioner say?")
    assert json.loads(request_info.value.post_data)["filters"] == {"document": ["CMW-C-SR.232"]}
    labels = page.locator(".turn .source-link").all_text_contents()
    assert labels and all(label.startswith("CMW/C/SR.232") for label in labels)


def test_copy_citation_puts_the_label_on_the_clipboard(page):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/")
    ask(page, FLYNN)
    page.locator(".turn .marker").first.click()
    label = page.locator("#panel-title").text_content()
    page.click("#copy-citation")
    page.wait_for_function("document.querySelector('#copy-citation').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == label


def test_reader_highlights_a_linked_paragraph(page):
    page.goto("/documents/CMW-C-SR.506#para-24")
    page.wait_for_function("document.querySelector('.passage.is-target') !== null")
    assert page.evaluate("document.querySelector('.passage.is-target').id") == "para-24"
    assert page.evaluate("document.querySelector(':target').id") == "para-24"
    page.click("a.passage-label[href='#para-3']")
    page.wait_for_function("document.querySelector('.passage.is-target').id === 'para-3'")
    assert page.problems == []


def test_phone_layout_has_no_sideways_scroll(browser, live_server):
    context = browser.new_context(base_url=live_server.base_url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto("/")
    ask(page, "How many States parties does the Convention have?")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "07-phone")
    page.locator(".turn .marker, .turn .source-link").first.click()
    page.locator("#source-panel").wait_for(state="visible")
    shot(page, "08-phone-panel")
    page.goto("/documents/CMW-GC6-concept-note#fn-2")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()


def test_the_page_works_without_javascript(browser, live_server):
    context = browser.new_context(base_url=live_server.base_url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/")
    page.fill("#question", "Who chaired the 590th meeting?")
    page.click("#send")
    page.wait_for_load_state()
    assert page.locator(".turn .answer").count() == 1
    assert page.locator(".turn .source-link").count() >= 1
    assert "/?q=Who+chaired+the+590th+meeting%3F" in page.url, "the form redirects to the answer's permalink"
    assert "Enter adds a new line" in page.locator("#composer-hint").text_content()
    page.fill("#question", INJECTION)
    page.click("#send")
    page.wait_for_load_state()
    assert page.locator(".turn").count() == 2
    assert page.locator(".turn .question-text").last.text_content() == INJECTION
    shot(page, "09-no-javascript")
    page.reload()  # a GET: nothing is posted again, and the conversation is still there
    assert page.locator(".turn").count() == 2
    context.close()


# ---- the conversation stays in view, errors show in place, permalinks, accessibility (issue 14) ----


def viewport_page(browser, live_server, size: str, **options):
    context = browser.new_context(base_url=live_server.base_url, viewport=VIEWPORTS[size], **options)
    page = context.new_page()
    page.problems = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    return context, page


QUESTION_IN_VIEW = """(n) => {
  const question = document.querySelectorAll('.turn .question-text')[n];
  const box = question.getBoundingClientRect();
  const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return box.top >= 0 && box.bottom <= window.innerHeight && (hit === question || question.contains(hit));
}"""

FIVE_QUESTIONS = [
    "Who chaired the 590th meeting?",
    FLYNN,
    "How many States parties does the Convention have?",
    "Why do so few States ratify the Convention?",
    "When was it held?",
]


def wait_in_view(page, n: int) -> bool:
    """Whether question n settles inside the viewport, uncovered (smooth scrolling takes a moment)."""
    try:
        page.wait_for_function(QUESTION_IN_VIEW, arg=n, timeout=5_000)
        return True
    except Exception:
        return False


@pytest.mark.parametrize("size", VIEWPORTS)
def test_each_new_question_lands_in_view_clear_of_the_question_box(browser, live_server, size):
    context, page = viewport_page(browser, live_server, size)
    page.goto("/")
    for n, question in enumerate(FIVE_QUESTIONS):
        ask(page, question)
        assert wait_in_view(page, n), f"question {n + 1} is hidden or covered at {size}"
        assert page.locator("h1").first.is_visible()
    shot(page, f"10-five-questions-{size}")
    assert page.problems == []
    context.close()


def test_jump_to_latest_appears_when_scrolled_up(browser, live_server):
    context, page = viewport_page(browser, live_server, "phone")
    page.goto("/")
    ask(page, FLYNN)
    ask(page, "Who chaired the 590th meeting?")
    jump = page.locator("#jump-latest")
    jump.wait_for(state="hidden")
    page.evaluate("window.scrollTo(0, 0)")
    jump.wait_for(state="visible")
    jump.click()
    assert wait_in_view(page, 1)
    jump.wait_for(state="hidden")
    context.close()


@pytest.mark.parametrize("size", VIEWPORTS)
def test_a_server_error_shows_an_alert_with_retry_in_view(browser, live_server, size):
    context, page = viewport_page(browser, live_server, size)
    failures = {"left": 1}

    def fail_once(route):
        if failures["left"]:
            failures["left"] -= 1
            route.fulfill(status=500, content_type="text/plain", body="Internal Server Error")
        else:
            route.continue_()

    page.goto("/")
    ask(page, "Who chaired the 590th meeting?")
    page.route("**/api/ask", fail_once)
    ask(page, FLYNN)
    alert = page.locator(".turn").last.locator("[role=alert]")
    assert alert.is_visible() and "500" in alert.text_content()
    retry = alert.locator("button.retry")
    page.wait_for_function(
        "(el) => { const b = el.getBoundingClientRect(); return b.top >= 0 && b.bottom <= innerHeight; }",
        arg=retry.element_handle(),
        timeout=5_000,
    )
    shot(page, f"11-error-{size}")
    retry.click()
    page.locator(".turn").last.locator(".answer:not(.loading):not(.error)").wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert page.locator(".turn").count() == 2, "the retried turn is answered in place, not added"
    assert page.locator(".turn .error").count() == 0
    context.close()


def test_a_blank_question_says_so_where_the_user_looks(page):
    page.goto("/")
    page.click("#send")
    problem = page.locator("#question-problem")
    assert problem.is_visible() and "Type a question" in problem.text_content()
    assert page.get_attribute("#question", "aria-invalid") == "true"
    page.fill("#question", "x" * 2100)
    page.dispatch_event("#question", "input")
    assert page.locator("#char-count").is_visible()
    assert "2,100 / 2,000" in page.locator("#char-count").text_content()
    page.click("#send")
    assert "shorten it by 100" in problem.text_content()
    assert page.input_value("#question") == "x" * 2100, "nothing is cut silently"
    assert page.locator(".turn").count() == 0


@pytest.mark.parametrize("javascript", [True, False])
def test_a_permalink_answers_its_question(browser, live_server, javascript):
    context, page = viewport_page(browser, live_server, "desktop", java_script_enabled=javascript)
    page.goto("/?q=When+was+it+held%3F&prev=Who+chaired+the+590th+meeting%3F#latest")
    turns = page.locator(".turn")
    turns.last.locator(".answer").wait_for()
    assert turns.count() == 2
    assert turns.last.locator(".question-text").text_content() == "When was it held?"
    assert "13 December 2024" in turns.last.locator(".answer").text_content()
    assert page.locator("h1").is_visible()
    link = turns.last.locator("a.permalink").get_attribute("href")
    assert link.startswith("/?q=When+was+it+held") and "prev=Who+chaired" in link
    if javascript:
        assert turns.last.locator("button.marker").count() >= 1, "the script renders the served answer"
    context.close()


def test_each_answer_links_to_itself_and_copies_with_its_citations(page):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/")
    ask(page, FLYNN)
    answer = page.locator(".turn").last
    href = answer.locator("a.permalink").get_attribute("href")
    assert href.startswith("/?q=What+did+Mr.+Flynn")
    answer.locator("button.copy-answer").click()
    page.wait_for_function("document.querySelector('.copy-answer').textContent === 'Copied'")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(f"Q: {FLYNN}")
    assert "[1] CMW/C/SR.506, para. 2" in copied and "“" in copied
    assert href in copied


def test_a_marker_previews_its_source_on_focus_and_hover(page):
    page.goto("/")
    ask(page, FLYNN)
    marker = page.locator(".turn .marker").first
    marker.focus()
    preview = page.locator("#preview")
    assert preview.is_visible()
    assert preview.locator(".preview-label").text_content() == marker.get_attribute("aria-label").split(": ", 1)[1]
    assert marker.get_attribute("aria-describedby") == "preview"
    page.keyboard.press("Escape")
    assert preview.is_hidden()
    page.mouse.move(0, 0)
    marker.hover()
    assert preview.is_visible()


def test_markers_are_at_least_24_px_on_a_phone(browser, live_server):
    context, page = viewport_page(browser, live_server, "phone")
    page.goto("/")
    ask(page, FLYNN)
    boxes = [m.bounding_box() for m in page.locator(".turn .marker").all()]
    assert boxes and all(b["width"] >= 24 and b["height"] >= 24 for b in boxes), boxes
    context.close()


def test_answers_lead_with_quotes_and_fold_paragraphs_and_set_related_passages_apart(page):
    page.goto("/")
    ask(page, FLYNN)
    answer = page.locator(".turn").last.locator(".answer")
    first = answer.locator(".sources > .source").first
    assert first.locator(".source-quote").is_visible()
    fold = first.locator("details.source-more")
    if fold.count():
        assert not fold.locator(".source-text").is_visible(), "the whole paragraph is folded"
    related = answer.locator("details.related")
    if related.count():
        assert related.get_attribute("open") is None
        assert related.locator("mark").count() == 0, "related passages are not highlighted as evidence"
    assert "506th meeting" in first.locator(".source-meta").text_content(), "sources show their meeting"


def test_filters_travel_with_the_question_with_and_without_javascript(browser, live_server):
    context, page = viewport_page(browser, live_server, "desktop")
    page.goto("/")
    page.click("#filters summary")
    page.select_option("#session-filter", "Thirty-fifth session")
    page.check("input[name=kind][value=paragraph]")
    page.fill("#speaker-filter", "Flynn")
    assert page.locator("#filter-count").text_content() == "(3 on)"
    with page.expect_request("**/api/ask") as request_info:
        ask(page, "What was said about detention?")
    sent = json.loads(request_info.value.post_data)["filters"]
    assert sent == {"session": "Thirty-fifth session", "speaker": "Flynn", "kind": ["paragraph"]}
    assert "session=Thirty-fifth+session" in page.locator(".turn a.permalink").get_attribute("href")
    context.close()

    context, page = viewport_page(browser, live_server, "desktop", java_script_enabled=False)
    page.goto("/")
    page.click("#filters summary")
    page.select_option("#document-filter", "CMW-C-SR.232")
    page.fill("#date-from", "2013")
    page.fill("#question", "What did the Deputy High Commissioner say?")
    page.click("#send")
    page.wait_for_load_state()
    assert "document=CMW-C-SR.232" in page.url and "date_from=2013" in page.url
    labels = page.locator(".turn .source-link").all_text_contents()
    assert labels and all(label.startswith("CMW/C/SR.232") for label in labels)
    assert page.locator("#filters").get_attribute("open") is not None, "the chosen filters stay on show"
    context.close()


def test_reader_paragraph_numbers_are_not_tab_stops(page):
    page.goto("/documents/CMW-C-SR.506")
    assert page.locator(".passage-label").count() > 60
    assert page.locator(".passage-label:not([tabindex='-1'])").count() == 0
    page.evaluate("window.scrollTo(0, 3000)")
    assert page.locator(".site-header").is_visible()
    assert page.evaluate("document.querySelector('.site-header').getBoundingClientRect().top") == 0


# ---- axe-core: no violation of moderate, serious or critical impact on any state of the pages ----


AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
}"""


def axe_problems(page, state: str) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(AXE_RUN)
    return [f"{state}: {v['id']} ({v['impact']}) {v['help']} at {v['nodes']}" for v in found if v["impact"] != "minor"]


@pytest.fixture(scope="module")
def axe_script() -> Path:
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run make install-test (npm install axe-core into tests/.npm)")
    return AXE


@pytest.mark.parametrize("size", VIEWPORTS)
def test_axe_finds_no_violations_on_any_state_of_the_pages(browser, live_server, axe_script, size):
    # The test injects axe's script inline, which the page's strict CSP would block: only this context bypasses it.
    context, page = viewport_page(browser, live_server, size, bypass_csp=True)
    problems = []
    page.goto("/")
    problems += axe_problems(page, "first visit")
    page.click("#filters summary")
    problems += axe_problems(page, "filters open")
    ask(page, FLYNN)
    page.locator(".turn .marker").first.focus()
    problems += axe_problems(page, "answer with a preview")
    page.locator(".turn .marker").first.click()
    page.locator("#source-panel").wait_for(state="visible")
    problems += axe_problems(page, "source panel")
    page.keyboard.press("Escape")
    ask(page, "Which team won the last Olympic football tournament?")
    problems += axe_problems(page, "abstention")
    page.route("**/api/ask", lambda route: route.fulfill(status=500, body="Internal Server Error"))
    ask(page, "Who chaired the 590th meeting?")
    problems += axe_problems(page, "error")
    page.click("#send")
    problems += axe_problems(page, "blank question")
    page.goto("/documents/CMW-C-SR.506?quote=Mr.%20Flynn&anchor=para-23#para-23")
    problems += axe_problems(page, "reader")
    page.goto("/docs")
    problems += axe_problems(page, "API reference")
    context.close()
    assert problems == []


@pytest.mark.parametrize("size", VIEWPORTS)
def test_axe_finds_no_violations_without_javascript(browser, live_server, axe_script, size):
    # With the page's scripts off, axe itself still runs: Playwright evaluates in its own world.
    context, page = viewport_page(browser, live_server, size, bypass_csp=True)
    page.route("**/static/chat.js*", lambda route: route.fulfill(status=200, content_type="text/javascript", body=""))
    page.goto("/?q=Who+chaired+the+590th+meeting%3F#latest")
    problems = axe_problems(page, "answer without JavaScript")
    page.goto("/?q=" + "x" * 10 + "&date_from=yesterday")
    problems += axe_problems(page, "error without JavaScript")
    assert page.locator("#question-error").is_visible()
    context.close()
    assert problems == []


def test_the_direct_answer_leads_with_confidence_and_parts_when_the_api_gives_them(page):
    """The answer layer is adding `direct`, `confidence` and `parts`: a real answer with them added is rendered
    with the direct answer first (route interception stands in for the newer API, not for our server)."""

    def with_new_fields(route):
        answer = route.fetch().json()
        answer |= {
            "direct": "Ms. Diallo chaired it [1].",
            "confidence": 0.82,
            "parts": [{"question": "Who chaired it?", "answered": True, "direct": "Ms. Diallo [1]."}],
        }
        route.fulfill(json=answer)

    page.route("**/api/ask", with_new_fields)
    page.goto("/")
    ask(page, "Who chaired the 590th meeting?")
    answer = page.locator(".turn").last.locator(".answer")
    first = answer.locator(":scope > p").nth(1)
    assert "answer-direct" in first.get_attribute("class"), "the direct answer comes right after the kicker"
    assert first.locator("button.marker").count() == 1
    assert "likely answered (0.82)" in answer.locator(".answer-kicker").text_content()
    assert answer.locator(".part.is-answered").text_content().startswith("Answered:")
    assert page.problems == []


def test_a_network_failure_says_the_server_could_not_be_reached(page):
    page.goto("/")
    page.route("**/api/ask", lambda route: route.abort("connectionrefused"))
    ask(page, "Who chaired the 590th meeting?")
    alert = page.locator(".turn").last.locator("[role=alert]")
    assert "could not be reached" in alert.text_content()
    page.unroute("**/api/ask")
    page.locator(".turn").last.locator("button.edit").click()
    assert page.locator(".turn").count() == 0, "editing the question takes the failed turn away"
    assert page.input_value("#question") == "Who chaired the 590th meeting?"
    assert page.evaluate("document.activeElement.id") == "question"
