"""The page templates render the answer object's fields, old and new, as the chat page's script does."""

from __future__ import annotations

import pytest

from assistant.pages import confidence_words, form_filters, make_templates, ordinal, permalink

CITATION = {
    "n": 1,
    "document": "CMW/C/SR.590",
    "doc_id": "CMW-C-SR.590",
    "anchor": "header",
    "label": "CMW/C/SR.590, header",
    "title": "Summary record (partial) of the 590th meeting",
    "paragraph": "header",
    "quote": "Chair: Ms. Diallo",
    "text": "Summary record (partial) of the 590th meeting, held on 13 December 2024. Chair: Ms. Diallo",
    "date": "2024-12-13",
    "session": "Thirty-ninth session",
    "meeting": 590,
}


def render_turn(turn: dict) -> str:
    template = make_templates().env.from_string('{% set t = 1 %}{% include "_turn.html" %}')
    return template.render(turn=turn)


def test_a_turn_leads_with_the_direct_answer_and_shows_confidence_parts_session_and_meeting():
    turn = {
        "question": "Who chaired the 590th meeting?",
        "answer": "The header of CMW/C/SR.590 reads: “Chair: Ms. Diallo” [1].",
        "direct": "Ms. Diallo chaired the 590th meeting [1].",
        "confidence": 0.82,
        "parts": [{"question": "Who chaired it?", "answered": True, "direct": None}],
        "abstained": False,
        "citations": [CITATION],
        "related": [CITATION | {"n": 2}],
    }
    page = render_turn(turn)
    assert page.index('class="answer-direct"') < page.index('class="answer-text answer-detail"')
    assert "likely answered (0.82)" in page
    assert 'class="part is-answered"' in page
    assert "Thirty-ninth session" in page and "590th meeting" in page
    assert '<blockquote class="source-quote"><p>Chair: Ms. Diallo</p></blockquote>' in page
    assert '<details class="source-more">' in page, "the whole paragraph is folded"
    related = page[page.index('<details class="related">') :]
    assert "<mark>" not in related, "related passages are not highlighted as evidence"


def test_a_turn_without_the_new_fields_renders_as_before():
    page = render_turn({"question": "Q?", "answer": "An answer [1].", "abstained": False, "citations": [CITATION]})
    assert "answer-direct" not in page and "confidence" not in page and "answer-parts" not in page
    assert 'class="answer-text"' in page
    assert '<a class="marker" href="#t1-src-1" aria-label="Source 1">[1]</a>' in page


@pytest.mark.parametrize(("value", "words"), [(0.82, "likely answered (0.82)"), (0.5, "possibly answered (0.50)")])
def test_confidence_in_words_keeps_the_api_figure(value, words):
    assert confidence_words(value) == words
    assert confidence_words(None) == ""


def test_ordinals():
    assert [ordinal(n) for n in (1, 2, 3, 11, 12, 13, 21, 590, 506)] == [
        "1st", "2nd", "3rd", "11th", "12th", "13th", "21st", "590th", "506th"
    ]  # fmt: skip


def test_form_filters_check_each_field_and_say_what_to_change():
    documents, sessions = ["CMW-C-SR.506"], ["Thirty-fifth session"]
    chosen = form_filters({"document": "CMW-C-SR.506", "date_from": "2022", "kind": ["header"]}, documents, sessions)
    assert chosen == {"document": ["CMW-C-SR.506"], "date_from": "2022", "kind": ["header"]}
    assert form_filters({"document": "", "speaker": "  "}, documents, sessions) == {}
    for bad, message in [
        ({"session": "Fiftieth"}, "no session 'Fiftieth'; choose one of: Thirty-fifth session"),
        ({"date_to": "2022-9"}, "date to '2022-9' is not a date"),
        ({"kind": ["table"]}, "no passage kind 'table'"),
    ]:
        with pytest.raises(ValueError, match=message):
            form_filters(bad, documents, sessions)


def test_a_permalink_drops_the_oldest_questions_when_too_long():
    link = permalink("Now?", ["a" * 4000, "b" * 4000], {"kind": ["header"]})
    assert link.startswith("/?q=Now%3F&prev=bbbb") and "aaaa" not in link and link.endswith("kind=header#latest")
