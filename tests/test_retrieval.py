"""Retrieval over the real corpus: paraphrases, named speakers and organisations, headers, filters, the three modes,
and the eval set's answerable questions as a floor for the hybrid."""

from __future__ import annotations

import json

import pytest

from assistant.retrieval import Filters, Retriever, affiliation_aliases, date_bounds, words
from assistant.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def retriever(assistant) -> Retriever:
    return assistant.retriever


def labels(hits) -> list[str]:
    return [h.passage.label for h in hits]


# ---- what users ask ----


def test_paraphrase_finds_the_passage(retriever: Retriever):
    """'join' and 'so few' are not the record's words: 'it had the lowest ratification rate of the core treaties'."""
    assert "CMW/C/SR.506, para. 4" in labels(retriever.search("Why do so few States join the Convention?", k=5))


def test_named_state_lifts_its_statement(retriever: Retriever):
    hits = retriever.search("What did Mexico say about the general comment?", k=5)
    assert hits[0].passage.label == "CMW/C/SR.506, para. 16" and hits[0].passage.affiliation == "Mexico"


def test_acronym_finds_the_organisation(retriever: Retriever):
    """'IOM' is built from the corpus' own 'International Organization for Migration', not from a list."""
    hits = retriever.search("What did the IOM say about the Compact and the Convention?", k=3)
    assert hits[0].passage.affiliation == "International Organization for Migration"


def test_named_speaker_comes_first(retriever: Retriever):
    hits = retriever.search("What did Mr. Flynn say?", k=3)
    assert {h.passage.speaker for h in hits} == {"Mr. Flynn"}


def test_the_chair_is_found_by_name(retriever: Retriever):
    hits = retriever.search("According to Ms. Diallo, why do migrants take dangerous routes?", k=3)
    assert hits[0].passage.label == "CMW/C/SR.608, para. 1" and hits[0].passage.speaker == "The Chair"


@pytest.mark.parametrize(
    ("query", "header"),
    [
        ("Who chaired the 590th meeting?", "CMW/C/SR.590, header"),
        ("CMW/C/SR.608", "CMW/C/SR.608, header"),
        ("Who chaired the 232nd meeting of the Committee?", "CMW/C/SR.232, header"),
        ("What is the full title of the concept note on general comment No. 6?", "CMW-GC6-concept-note, header"),
    ],
)
def test_headers_answer_questions_about_the_meeting(retriever: Retriever, query: str, header: str):
    assert header in labels(retriever.search(query, k=3))


# ---- modes and hits ----


def test_modes_report_their_own_ranks(retriever: Retriever):
    query = "alternatives to detention in the United States"
    dense, bm25, hybrid = (retriever.search(query, k=5, mode=m) for m in ("dense", "bm25", "hybrid"))
    assert [h.rank for h in hybrid] == [1, 2, 3, 4, 5]
    assert all(h.dense_rank == h.rank and h.bm25_rank is None for h in dense)
    assert all(h.bm25_rank == h.rank and h.dense_rank is None for h in bm25)
    assert all(h.dense_score is not None and h.bm25_score is not None for h in hybrid[:3])
    assert [h.score for h in hybrid] == sorted((h.score for h in hybrid), reverse=True)
    data = hybrid[0].to_dict()
    assert data["label"] == hybrid[0].passage.label and data["score"] == hybrid[0].score
    assert {"dense_rank", "bm25_rank", "dense_score", "bm25_score", "rank", "anchor", "text"} <= set(data)


def test_bm25_returns_only_matching_passages(retriever: Retriever):
    assert retriever.search("zzzxq", k=5, mode="bm25") == []


def test_bad_input_is_refused_clearly(retriever: Retriever):
    with pytest.raises(ValueError, match="unknown search mode 'fuzzy'"):
        retriever.search("detention", mode="fuzzy")
    with pytest.raises(ValueError, match="the query is empty"):
        retriever.search("   ")


# ---- filters ----


def test_filter_by_document_symbol_or_id(retriever: Retriever):
    for name in ("CMW/C/SR.232", "CMW-C-SR.232"):
        hits = retriever.search("ratification of the Convention", k=10, filters=Filters(document=[name]))
        assert len(hits) == 10 and {h.passage.document for h in hits} == {"CMW/C/SR.232"}


def test_filter_by_dates_takes_partial_dates(retriever: Retriever):
    hits = retriever.search("general comment", k=50, filters=Filters(date_from="2024", date_to="2025-04"))
    assert hits and {h.passage.document for h in hits} == {"CMW/C/SR.590", "CMW/C/SR.608"}
    hits = retriever.search("ratification", k=50, filters=Filters(date_to="2013-09-15"))
    assert {h.passage.document for h in hits} == {"CMW/C/SR.232"}  # dated "2013-09": the month overlaps


def test_filter_by_session_speaker_affiliation_and_kind(retriever: Retriever):
    hits = retriever.search("closure", k=50, filters=Filters(session="fortieth"))
    assert {h.passage.session for h in hits} == {"Fortieth session"}
    hits = retriever.search("liquidity crisis", k=50, filters=Filters(speaker="Diallo"))
    assert hits and {h.passage.speaker for h in hits} == {"The Chair"}
    hits = retriever.search("labour migration", k=50, filters=Filters(affiliation="IOM"))
    assert hits and {h.passage.speaker for h in hits} == {"Mr. Yuzhanin"}
    hits = retriever.search("detention", k=50, filters=Filters(affiliation="detention project"))
    assert hits and {h.passage.affiliation for h in hits} == {"Global Detention Project"}
    hits = retriever.search("who chaired", k=10, filters=Filters(kind=["header"]))
    assert len(hits) == 5 and {h.passage.kind for h in hits} == {"header"}


def test_filters_combine(retriever: Retriever):
    filters = Filters(document=["CMW/C/SR.506"], kind=["paragraph"], speaker="Flynn")
    hits = retriever.search("children", k=10, filters=filters)
    assert hits and all(h.passage.speaker == "Mr. Flynn" and h.passage.kind == "paragraph" for h in hits)
    assert retriever.search("children", filters=Filters(document=["CMW/C/SR.232"], speaker="Flynn")) == []


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (Filters(document=["CMW/C/SR.999"]), "unknown document 'CMW/C/SR.999'; the corpus has: CMW-GC6"),
        (Filters(date_from="27/09/2022"), "date_from '27/09/2022' is not a date; write it as YYYY"),
        (Filters(session="fiftieth"), "unknown session 'fiftieth'; the corpus has: Fortieth session"),
        (Filters(kind=["table"]), "unknown passage kind 'table'; kinds are: paragraph"),
    ],
)
def test_bad_filters_say_what_is_wrong(retriever: Retriever, filters: Filters, message: str):
    with pytest.raises(ValueError, match=message):
        retriever.search("detention", filters=filters)


def test_filters_from_dict():
    assert Filters.from_dict({"document": "CMW/C/SR.506", "kind": "header", "speaker": ""}) == Filters(
        document=["CMW/C/SR.506"], kind=["header"]
    )
    with pytest.raises(ValueError, match="unknown filter 'author'; filters are: affiliation, date_from"):
        Filters.from_dict({"author": "x"})


def test_date_bounds():
    assert date_bounds("2022") == ("2022-01-01", "2022-12-31")
    assert date_bounds("2013-09") == ("2013-09-01", "2013-09-31")
    assert date_bounds("2022-09-27") == ("2022-09-27", "2022-09-27")


# ---- names from the corpus ----


def test_affiliation_aliases_come_from_the_name():
    names, acronyms = affiliation_aliases("National Human Rights Council of Morocco (CNDH)")
    assert names == {"National Human Rights Council of Morocco", "National Human Rights Council"}
    assert "CNDH" in acronyms
    assert affiliation_aliases("Mexico") == ({"Mexico"}, set())
    assert "OHCHR" in affiliation_aliases("Office of the High Commissioner for Human Rights")[1]


def test_words_normalise_for_matching():
    assert words("Morocco’s UN Office, Hernández") == " morocco united nations office hernandez "


# ---- the eval set: the hybrid beats each retriever alone ----


def test_hybrid_beats_each_retriever_on_the_eval_set(retriever: Retriever):
    questions = [json.loads(line) for line in (PROJECT_ROOT / "eval" / "questions.jsonl").open()]
    answerable = [q for q in questions if q["gold"]]
    assert len(answerable) >= 100

    def score(mode: str) -> tuple[float, float]:
        reciprocal, top5 = 0.0, 0
        for q in answerable:
            query = " ".join([h["question"] for h in q.get("history") or []] + [q["question"]])
            gold = {(g["document"], g["paragraph"]) for g in q["gold"]}
            hits = retriever.search(query, k=10, mode=mode)
            rank = next((h.rank for h in hits if (h.passage.document, h.passage.paragraph) in gold), None)
            reciprocal += 1 / rank if rank else 0
            top5 += bool(rank and rank <= 5)
        return reciprocal / len(answerable), top5 / len(answerable)

    hybrid, dense, bm25 = score("hybrid"), score("dense"), score("bm25")
    assert hybrid[1] >= 0.95, f"gold in the top 5 for {hybrid[1]:.1%} of answerable questions"
    assert hybrid[0] > max(dense[0], bm25[0]), (
        f"MRR@10 hybrid {hybrid[0]:.3f}, dense {dense[0]:.3f}, bm25 {bm25[0]:.3f}"
    )
