"""Real UN documents the parser was not written on (../shared/realworld), beside the five records of corpus/.

The nine general comments and recommendations come in two forms: numbered plain text ("N. text", symbol and
title on top) and text taken from the OHCHR document store ("1.Text", "I.Introduction", a UN header block, and for
CEDAW/C/GC/38 a table of contents). They are read from ../shared/realworld, never copied into this repository.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.corpus import Corpus, load_corpus
from assistant.documents import Document
from assistant.passages import parse_document
from assistant.settings import PROJECT_ROOT, Settings
from tests.conftest import CORPUS_DIR, seeded


def find_realworld() -> Path | None:
    """Beside the clone in CI (../shared/realworld), or the shared folder of the development machine."""
    for folder in (PROJECT_ROOT.parent / "shared" / "realworld", Path("/work/shared/realworld")):
        if (folder / "manifest.json").is_file():
            return folder
    return None


REALWORLD = find_realworld()
EVAL_INDEX = PROJECT_ROOT / "index-eval"  # where make builds the records with these documents (Makefile's EVAL_INDEX)
pytestmark = pytest.mark.skipif(
    REALWORLD is None, reason="the real-world documents are not here: expected ../shared/realworld beside the clone"
)

# Exactly the paragraphs each text numbers (the realworld README lists the same ranges).
LAST_PARAGRAPH = {
    "CMW/C/SR.506": 63,
    "CMW/C/SR.590": 7,
    "CMW/C/SR.608": 10,
    "CMW/C/SR.232": 30,
    "CMW/C/GC/1": 66,
    "CMW/C/GC/2": 79,
    "CMW/C/GC/5": 97,
    "CMW/C/GC/3-CRC/C/GC/22": 56,
    "CMW/C/GC/4-CRC/C/GC/23": 68,
    "CEDAW/C/2009/WP.1/R": 29,
    "CED/C/GC/1": 56,
    "CEDAW/C/GC/38": 122,
    "CAT/C/GC/4": 51,
}


@pytest.fixture(scope="module")
def both() -> Corpus:
    return load_corpus([CORPUS_DIR, REALWORLD])


def paragraphs(corpus: Corpus, document: str):
    return [p for p in corpus.passages_of(document) if p.kind == "paragraph"]


def test_fourteen_documents_load_without_a_problem(both: Corpus) -> None:
    assert [str(p) for p in both.problems] == []
    assert len(both.documents) == 14
    assert {d.kind for d in both.documents if d.folder == REALWORLD} == {"general_comment"}


@pytest.mark.parametrize(("document", "last"), LAST_PARAGRAPH.items())
def test_exactly_the_printed_paragraph_numbers(both: Corpus, document: str, last: int) -> None:
    found = paragraphs(both, document)
    assert [p.number for p in found] == list(range(1, last + 1))
    assert not any(p.inferred for p in found)


def test_the_concept_note_keeps_its_structural_labels(both: Corpus) -> None:
    note = paragraphs(both, "CMW-GC6-concept-note")
    assert len(note) == 59 and all(p.number is None for p in note)
    assert note[0].paragraph == "sect. 1, para. 1"


def test_no_passage_text_starts_with_its_own_number(both: Corpus) -> None:
    for p in both.passages:
        if p.kind == "paragraph" and p.number is not None:
            assert not re.match(rf"{p.number}\s*\.", p.text), p.label
        assert p.text == p.text.strip() and "  " not in p.text, p.label


def test_citations_in_un_form(both: Corpus) -> None:
    assert both.passage("CMW/C/GC/5", "12").label == "CMW/C/GC/5, para. 12"
    assert both.passage("CMW/C/GC/4-CRC/C/GC/23", "7").label == "CMW/C/GC/4-CRC/C/GC/23, para. 7"
    assert both.passage("CEDAW/C/GC/38", "41").label == "CEDAW/C/GC/38, para. 41"
    assert both.passage("CED/C/GC/1", "1").text.startswith("For the purposes of the present general comment")


def test_the_table_of_contents_is_in_no_passage(both: Corpus) -> None:
    raw = (REALWORLD / "CEDAW_C_GC_38.txt").read_text(encoding="utf-8").splitlines()
    toc = [line.strip() for line in raw[: raw.index(next(x for x in raw if x.strip() == "I.Introduction"))]]
    titles = [t for t in toc if t and not t.isdigit() and t != "Page"]
    assert len(titles) == 22
    gr38 = both.passages_of("CEDAW/C/GC/38")
    for p in gr38:
        assert not p.text.startswith("Page"), p.label
        assert not any(f"{title}\n" in p.text or p.text == title for title in titles), p.label
    header = next(p for p in gr38 if p.kind == "header")
    assert "Objectives and scope" not in header.text and "Page" not in header.text.split()
    assert both.document("CEDAW/C/GC/38").dropped == {"table of contents": 45}
    assert paragraphs(both, "CEDAW/C/GC/38")[0].text.startswith("Article 6 of the Convention")


def test_headings_become_sections_at_their_levels(both: Corpus) -> None:
    assert both.passage("CED/C/GC/1", "1").section == "I. Introduction"
    assert both.passage("CED/C/GC/1", "17").section == (
        "III. Preventive mechanisms / A. Prohibition of the secret detention of migrants"
    )
    assert both.passage("CED/C/GC/1", "29").section.endswith("C. Policies and non-criminalization")  # C: a letter
    assert both.passage("CAT/C/GC/4", "31").section.endswith("/ A. Admissibility")
    assert both.passage("CAT/C/GC/4", "51").section == "XI. Independence of assessment of the Committee"
    # "5.Right to remedy" between paragraphs 99 and 100 is a heading, not a paragraph numbered 5
    para100 = both.passage("CEDAW/C/GC/38", "100")
    assert para100.section == "VII. Recommendations / B. Upholding victims’ rights / 5. Right to remedy"
    assert both.passage("CEDAW/C/GC/38", "47").section.endswith(
        "A. Addressing the root causes of trafficking in women and girls"
    )
    assert both.passage("CEDAW/C/GC/38", "48").section.endswith("/ 1. Socioeconomic injustice")


def test_sub_paragraphs_stay_with_their_paragraph(both: Corpus) -> None:
    para8 = both.passage("CED/C/GC/1", "8").text
    assert para8.startswith("Among the factors") and "(a) Discrimination may trigger migration" in para8
    assert "(d) Discrimination may also affect" in para8
    joint = both.passage("CMW/C/GC/3-CRC/C/GC/22", "32").text
    assert "(c) Ensure that all best-interests assessments" in joint
    gr26 = both.passage("CEDAW/C/2009/WP.1/R", "4").text
    assert gr26.endswith(gr26.split(". ")[-1]) and "all categories of women migrants fall within the scope" in gr26


def test_the_header_block_is_read_from_the_text(tmp_path: Path) -> None:
    """A document whose text carries its own header needs only its file name in the manifest."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(REALWORLD / "CED_C_GC_1.txt", folder)
    (folder / "manifest.json").write_text(json.dumps({"documents": [{"file": "CED_C_GC_1.txt"}]}))
    corpus = load_corpus(folder)
    assert [str(p) for p in corpus.problems] == []
    doc = corpus.documents[0]
    assert (doc.symbol, doc.kind, doc.date, doc.original_language) == (
        "CED/C/GC/1",
        "general_comment",
        "2023-10-26",
        "English",
    )
    assert doc.body == "Committee on Enforced Disappearances"
    assert doc.title == "General comment No. 1 (2023) on enforced disappearance in the context of migration"
    assert corpus.passage("CED/C/GC/1", "56").label == "CED/C/GC/1, para. 56"
    header = corpus.passage("CED/C/GC/1", "header")
    assert header.text.startswith("United Nations\nCED/C/GC/1\nInternational Convention") and not header.inferred


def test_footnote_lines_become_footnote_passages_linked_to_their_caller() -> None:
    text = (REALWORLD / "CED_C_GC_1.txt").read_text(encoding="utf-8")
    text = text.replace("jus cogens norm.It must", "jus cogens norm.1 It must")
    text = text.replace("\n 10.As the contexts", "\n1 See CCPR/C/GC/36, para. 68.\n 10.As the contexts")
    doc = Document(id="ced", source="ced.txt", kind="general_comment", symbol="CED/C/GC/1")
    passages, problems = parse_document(text, doc)
    assert [str(p) for p in problems] == []
    numbers = [p.number for p in passages if p.kind == "paragraph"]
    assert numbers == list(range(1, 57))
    note = next(p for p in passages if p.kind == "footnote")
    assert (note.paragraph, note.text, note.parent) == ("fn. 1", "See CCPR/C/GC/36, para. 68.", "9")
    assert next(p for p in passages if p.paragraph == "9").footnotes == ("fn. 1",)
    assert note.label == "CED/C/GC/1, fn. 1"


def test_page_furniture_is_dropped_and_a_page_broken_paragraph_rejoined() -> None:
    """As a PDF conversion prints it: a job number, a page number and the symbol at the next page's top."""
    text = (REALWORLD / "CED_C_GC_1.txt").read_text(encoding="utf-8")
    cut = "which may arise from their personal characteristics"
    assert cut in text
    text = text.replace(
        cut, "which may arise\nGE.23-20845  (E)    011123    021123\n2\nCED/C/GC/1\nfrom their personal characteristics"
    )
    doc = Document(id="ced", source="ced.txt")  # nothing but a file: the kind and symbol come from the text
    passages, problems = parse_document(text, doc)
    assert [str(p) for p in problems] == [] and doc.symbol == "CED/C/GC/1" and doc.kind == "general_comment"
    assert [p.number for p in passages if p.kind == "paragraph"] == list(range(1, 57))
    para2 = next(p for p in passages if p.paragraph == "2").text
    assert "which may arise from their personal characteristics" in para2
    assert doc.dropped == {"page furniture": 3}


def test_a_record_numbered_without_spaces_gives_printed_numbers_and_clean_text(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    original = (CORPUS_DIR / "CMW-C-SR.608.txt").read_text(encoding="utf-8")
    squeezed = re.sub(r"^(\d+)\.\s+", r"\1.", original, flags=re.M)
    assert squeezed != original and "\n1.**The Chair**" in squeezed
    (folder / "CMW-C-SR.608.txt").write_text(squeezed, encoding="utf-8")
    entry = next(e for e in json.loads((CORPUS_DIR / "manifest.json").read_text())["documents"] if "608" in e["file"])
    (folder / "manifest.json").write_text(json.dumps({"documents": [entry]}))
    corpus = load_corpus(folder)
    reference = load_corpus(CORPUS_DIR)
    found = paragraphs(corpus, "CMW/C/SR.608")
    assert [str(p) for p in corpus.problems] == []
    assert [p.number for p in found] == list(range(1, 11)) and not any(p.inferred for p in found)
    expected = paragraphs(reference, "CMW/C/SR.608")
    assert [(p.text, p.speaker, p.section) for p in found] == [(p.text, p.speaker, p.section) for p in expected]


def test_check_reports_what_each_document_yielded() -> None:
    result = CliRunner().invoke(app, ["paragraphs", "--check", "--corpus", str(CORPUS_DIR), "--corpus", str(REALWORLD)])
    assert result.exit_code == 0, result.output
    assert "CED/C/GC/1 (CED_C_GC_1.txt, general_comment); paragraphs 1-56 (56); no gaps" in result.output
    assert "CEDAW/C/GC/38 (CEDAW_C_GC_38.txt, general_comment); paragraphs 1-122 (122)" in result.output
    assert "dropped: table of contents 45 lines" in result.output
    assert "14 documents" in result.output


def test_several_folders_in_one_setting() -> None:
    joined = f"{CORPUS_DIR}{os.pathsep}{REALWORLD}"
    assert Settings(corpus_dir=joined).corpus_dirs == [CORPUS_DIR, REALWORLD]
    assert Settings(corpus_dir=CORPUS_DIR).corpus_dirs == [CORPUS_DIR]
    for args, env in [(["--corpus", joined], {}), ([], {"ASSISTANT_CORPUS_DIR": joined})]:
        result = CliRunner().invoke(app, ["paragraphs", "--check", *args], env=env)
        assert result.exit_code == 0 and "14 documents" in result.output, result.output


# ---- the service over the real-world documents alone: no summary records, no sessions ----


@pytest.fixture(scope="module")
def realworld_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    from assistant.index import build_index

    index_dir = seeded(tmp_path_factory.mktemp("realworld-index"), EVAL_INDEX)
    settings = Settings(corpus_dir=REALWORLD, index_dir=index_dir)
    build_index(load_corpus(settings.corpus_dirs), settings, progress=False)
    return settings


@pytest.mark.slow
def test_serve_starts_and_answers_on_the_realworld_documents_alone(realworld_settings, tmp_path: Path) -> None:
    from tests.live_server import run_live_server

    log = tmp_path / "server.log"
    with run_live_server(realworld_settings, log) as server, httpx.Client(base_url=server.base_url, timeout=60) as http:
        assert http.get("/healthz").json()["documents"] == 9
        listed = http.get("/api/documents").json()["documents"]
        assert {d["kind"] for d in listed} == {"general_comment"}
        answer = http.post("/api/ask", json={"question": "What does the Committee say about secret detention?"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert not body["abstained"] and body["citations"], body
        assert any(c["label"].startswith("CED/C/GC/1, para. ") for c in body["citations"]), body["citations"]
        search = http.get("/api/search", params={"q": "pushbacks", "document": "CED-C-GC-1", "k": 3})
        assert search.status_code == 200 and search.json()["hits"][0]["document"] == "CED/C/GC/1"
        reader = http.get("/documents/CEDAW-C-GC-38")
        assert reader.status_code == 200 and 'id="para-122"' in reader.text
        page = http.get("/")
        assert page.status_code == 200 and "CAT/C/GC/4" in page.text
