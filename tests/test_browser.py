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
    assert answer.locator(".source-excerpt mark").count() >= 1, "the quoted sentence is highlighted"
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
    assert answer.locator(".answer-kicker").text_content() == "No answer in the records"
    shot(page, "06-abstention")


def test_document_filter_limits_the_sources(page):
    page.goto("/")
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
    page.fill("#question", INJECTION)
    page.click("#send")
    page.wait_for_load_state()
    assert page.locator(".turn").count() == 2
    assert page.locator(".turn .question-text").last.text_content() == INJECTION
    shot(page, "09-no-javascript")
    context.close()
