"""The corpus layer: every paragraph exactly once, with the citation a UN reader uses."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from assistant.cli import app
from assistant.corpus import Corpus, load_corpus
from assistant.documents import Document
from assistant.passages import parse_document
from tests.conftest import CORPUS_DIR


def numbered(corpus: Corpus, document: str) -> list[int]:
    return [p.number for p in corpus.passages if p.document == document and p.kind == "paragraph"]


def passage(corpus: Corpus, document: str, label: str):
    return corpus.passage(document, label)


@pytest.mark.parametrize(
    ("document", "last"),
    [("CMW/C/SR.506", 63), ("CMW/C/SR.590", 7), ("CMW/C/SR.608", 10), ("CMW/C/SR.232", 30)],
)
def test_every_numbered_paragraph_exactly_once(corpus: Corpus, document: str, last: int) -> None:
    assert numbered(corpus, document) == list(range(1, last + 1))
    assert not any(p.inferred for p in corpus.passages if p.document == document and p.kind == "paragraph")


def test_clean_corpus_has_no_problems(corpus: Corpus) -> None:
    assert [str(p) for p in corpus.problems] == []
    assert len(corpus.documents) == 5


def test_page_broken_paragraphs_are_rejoined(corpus: Corpus) -> None:
    para30 = passage(corpus, "CMW/C/SR.506", "30").text
    assert "universal periodic review and reviews by human rights treaty bodies" in para30
    assert para30.endswith("in the review and implementation process.")
    assert "created by the adoption of the Global Compact" in passage(corpus, "CMW/C/SR.506", "18").text
    assert "the challenges the Committee was facing" in passage(corpus, "CMW/C/SR.590", "6").text


def test_speaker_carries_over_to_following_paragraphs(corpus: Corpus) -> None:
    for label in ("23", "24", "27"):
        p = passage(corpus, "CMW/C/SR.506", label)
        assert (p.speaker, p.affiliation) == ("Mr. Flynn", "Global Detention Project")
    salama = passage(corpus, "CMW/C/SR.506", "3")
    assert salama.affiliation == "Office of the United Nations High Commissioner for Human Rights (OHCHR)"
    assert passage(corpus, "CMW/C/SR.506", "16").affiliation == "Mexico"
    assert passage(corpus, "CMW/C/SR.608", "10").speaker == "The Chair"


def test_speakers_without_bold_marks(corpus: Corpus) -> None:
    assert passage(corpus, "CMW/C/SR.232", "12").speaker == "The Chairperson"
    assert passage(corpus, "CMW/C/SR.232", "13").speaker == "Mr. Carrión Mena"
    heenan = passage(corpus, "CMW/C/SR.232", "20")
    assert (heenan.speaker, heenan.affiliation) == ("Mr. Heenan", "Office of the High Commissioner for Human Rights")
    assert passage(corpus, "CMW/C/SR.232", "10").speaker is None  # a new agenda item resets the speaker


def test_sections_attach_to_the_passages_under_them(corpus: Corpus) -> None:
    assert passage(corpus, "CMW/C/SR.590", "6").section == "Organizational matters"
    assert passage(corpus, "CMW/C/SR.590", "7").section == "Closure of the session"
    assert passage(corpus, "CMW/C/SR.232", "24").section.endswith("on the initial report of Morocco")
    assert passage(corpus, "CMW/C/SR.506", "1").section.startswith("Half day of general discussion")


def test_no_page_furniture_or_markup_in_any_passage(corpus: Corpus) -> None:
    for p in corpus.passages:
        for mark in ("GE.13-", "bookmark", "footnoteRef", "**", "Please recycle", ".wmf", "subject to correction"):
            assert mark not in p.text, (p.label, mark)
        assert p.text == p.text.strip() and "  " not in p.text


def test_quotes_stay_verbatim(corpus: Corpus) -> None:
    """Apart from layout, the text is the source's: every sentence can be found in the raw file."""
    raw = (CORPUS_DIR / "CMW-C-SR.506.txt").read_text(encoding="utf-8").replace("**", "")
    for p in corpus.passages_of("CMW/C/SR.506"):
        if p.kind == "paragraph":
            for sentence in re.split(r"(?<=\.) ", p.text):
                assert sentence in raw or sentence.split()[0] in raw, sentence


def test_headers_are_passages_with_metadata(corpus: Corpus) -> None:
    header = passage(corpus, "CMW/C/SR.590", "header")
    assert header.kind == "header" and not header.inferred
    assert "Chair: Ms. Diallo" in header.text and "590th meeting" in header.text
    assert "The discussion covered in the summary record began at 5.40 p.m." in header.text
    doc = corpus.document("CMW/C/SR.590")
    assert (doc.meeting, doc.date, doc.session, doc.place) == (
        590,
        "2024-12-13",
        "Thirty-ninth session",
        "Palais Wilson, Geneva",
    )
    lost = passage(corpus, "CMW/C/SR.232", "header")
    assert lost.inferred and "Chairperson: Mr. El Jamri" in lost.text and "September 2013" in lost.text


def test_concept_note_labels_come_from_its_structure(corpus: Corpus) -> None:
    note = corpus.passages_of("CMW-GC6-concept-note")
    labels = [p.paragraph for p in note]
    assert labels[0] == "header" and "sect. 1, para. 1" in labels and "sect. 6, para. 2" in labels
    assert all(p.number is None for p in note if p.kind == "paragraph")
    fn1 = passage(corpus, "CMW-GC6-concept-note", "fn. 1")
    assert fn1.kind == "footnote" and fn1.text.startswith("The right not to lose residence")
    assert fn1.parent == "sect. 2, para. 2"
    caller = passage(corpus, "CMW-GC6-concept-note", "sect. 2, para. 2")
    assert caller.footnotes == ("fn. 1", "fn. 2", "fn. 3")
    assert "With limited exceptions, it does not confer" in caller.text
    assert caller.label == "CMW-GC6-concept-note, sect. 2, para. 2"
    assert passage(corpus, "CMW/C/SR.506", "24").label == "CMW/C/SR.506, para. 24"


def strip_numbers(text: str) -> str:
    """What a conversion that loses list numbering leaves behind."""
    return re.sub(r"^(\[bookmark: [^\]]*\])?\d+\.\s+", r"\1", text, flags=re.M)


@pytest.mark.parametrize("source", ["CMW-C-SR.506.txt", "CMW-C-SR.590.md", "CMW-C-SR.608.txt", "CMW-C-SR.232.txt"])
def test_stripped_numbers_are_inferred_in_order(corpus: Corpus, source: str) -> None:
    original = [p for p in corpus.passages if p.source == source and p.kind == "paragraph"]
    doc = corpus.document(original[0].document)
    fresh = Document(**{**doc.__dict__, "extra": dict(doc.extra)})
    text = strip_numbers((CORPUS_DIR / source).read_text(encoding="utf-8"))
    passages, problems = parse_document(text, fresh)
    inferred = [p for p in passages if p.kind == "paragraph"]
    assert [(p.number, p.text, p.speaker) for p in inferred] == [(p.number, p.text, p.speaker) for p in original]
    assert all(p.inferred for p in inferred)
    assert any("numbered in order" in p.message for p in problems)


def write_corpus(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def test_bad_files_are_named_and_do_not_stop_the_others(tmp_path: Path) -> None:
    good = (CORPUS_DIR / "CMW-C-SR.590.md").read_bytes()
    folder = write_corpus(
        tmp_path / "corpus",
        {
            "good.md": good,
            "empty.txt": b"  \n",
            "binary.txt": b"\x00\x01\x02PNG",
            "latin1.txt": "Line one\nCaf\xe9 au lait\n".encode("latin-1"),
            "notes.rtf": b"{\\rtf1}",
        },
    )
    corpus = load_corpus(folder)
    assert [d.source for d in corpus.documents] == ["good.md"]
    assert numbered(corpus, "good") == list(range(1, 8))
    messages = "\n".join(str(p) for p in corpus.problems)
    assert "empty.txt" in messages and "is empty" in messages
    assert "binary.txt" in messages and "binary" in messages
    assert "latin1.txt" in messages and "line 2" in messages and "UTF-8" in messages


def test_numbering_that_jumps_or_repeats_is_reported_with_file_and_line(tmp_path: Path) -> None:
    text = (CORPUS_DIR / "CMW-C-SR.608.txt").read_text(encoding="utf-8")
    text = text.replace("\n5. Summarizing", "\n7. Summarizing").replace("\n9. Recently", "\n8. Recently")
    folder = write_corpus(tmp_path / "corpus", {"sr608.txt": text.encode()})
    corpus = load_corpus(folder)
    problems = [str(p) for p in corpus.problems if p.severity == "error"]
    assert any("sr608.txt:" in p and "jumps from 4 to 7" in p for p in problems), problems
    assert any("paragraph 8 is numbered twice" in p for p in problems), problems
    assert len(numbered(corpus, "sr608")) == 10  # nothing dropped
    result = CliRunner().invoke(app, ["paragraphs", "--check", "--corpus", str(folder)])
    assert result.exit_code == 1
    assert "jumps from 4 to 7" in result.output


def test_manifest_conflicts_are_reported_not_silently_resolved(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(CORPUS_DIR / "CMW-C-SR.590.md", folder)
    entry = {"file": "CMW-C-SR.590.md", "symbol": "CMW/C/SR.590", "kind": "summary_record", "chair": "Mr. Nobody"}
    (folder / "manifest.json").write_text(json.dumps({"documents": [entry]}))
    corpus = load_corpus(folder)
    assert any("chair" in p.message and "Ms. Diallo" in p.message for p in corpus.problems)
    assert corpus.documents[0].session == "Thirty-ninth session"  # what the manifest lacks, the text supplies


def test_missing_manifest_file_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"documents": [{"file": "gone.txt", "symbol": "X/1"}]}))
    corpus = load_corpus(folder)
    assert any("gone.txt" in str(p) and "missing" in str(p) for p in corpus.problems)


def test_docx_and_pdf_documents_parse_like_text(tmp_path: Path) -> None:
    import docx
    from fpdf import FPDF

    lines = [
        "The meeting was called to order at 10 a.m.",
        "Opening of the session",
        "1. The Chair said that the session was open.",
        "2. Ms. Example (Ruritania) said that her country had ratified the Convention.",
        "3. She added that a law on migrant workers had been adopted.",
        "The meeting rose at 1 p.m.",
    ]
    word = docx.Document()
    for line in lines:
        word.add_paragraph(line)
    folder = tmp_path / "corpus"
    folder.mkdir()
    word.save(str(folder / "record.docx"))
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for line in lines:
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(folder / "scan.pdf"))
    corpus = load_corpus(folder)
    for doc_id in ("record", "scan"):
        paras = [p for p in corpus.passages_of(doc_id) if p.kind == "paragraph"]
        assert [p.number for p in paras] == [1, 2, 3], doc_id
        assert (paras[2].speaker, paras[2].affiliation) == ("Ms. Example", "Ruritania")


def test_paragraphs_command_prints_json_lines() -> None:
    result = CliRunner().invoke(app, ["paragraphs", "--json", "--document", "CMW/C/SR.590"])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["paragraph"] for r in rows] == ["header", "1", "2", "3", "4", "5", "6", "7"]
    required = {"document", "title", "paragraph", "number", "inferred", "kind", "speaker", "affiliation"}
    assert required | {"section", "date", "source", "text"} <= rows[1].keys()
    assert rows[1]["date"] == "2024-12-13" and rows[1]["speaker"] == "The Chair"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=600), st.sampled_from(["summary_record", "document"]))
def test_parser_never_crashes_on_arbitrary_text(text: str, kind: str) -> None:
    passages, problems = parse_document(text, Document(id="fuzz", source="fuzz.txt", kind=kind))
    for p in passages:
        assert p.text and "**" not in p.text and "footnoteRef" not in p.text


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["1. **Mr. A** (B) said", "\n", "2.", "**", "\\*", "[1:  x]", "GE.13-1234", "a"])))
def test_parser_never_crashes_on_record_like_fragments(parts: list[str]) -> None:
    parse_document(" ".join(parts), Document(id="fuzz", source="fuzz.txt", kind="summary_record"))


# ---- the manifest: every entry checked; a bad one is a named error, never a traceback, never a silent misread ----


def manifest_case(tmp_path: Path, documents: object, extra: dict[str, bytes] | None = None) -> Path:
    """A corpus folder holding SR.590 and a manifest whose "documents" is the given value."""
    folder = write_corpus(tmp_path / "corpus", {"CMW-C-SR.590.md": (CORPUS_DIR / "CMW-C-SR.590.md").read_bytes()})
    write_corpus(folder, extra or {})
    (folder / "manifest.json").write_text(json.dumps({"documents": documents}), encoding="utf-8")
    return folder


SR590 = {"file": "CMW-C-SR.590.md", "symbol": "CMW/C/SR.590", "kind": "summary_record"}


def check_output(folder: Path) -> tuple[int, str]:
    """`assistant paragraphs --check` in a subprocess: a hang (a FIFO read) would fail the timeout, not the suite."""
    import subprocess
    import sys

    from assistant.settings import PROJECT_ROOT

    done = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "paragraphs", "--check", "--corpus", str(folder)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout + done.stderr


def test_a_file_outside_the_corpus_folder_is_an_error_naming_the_entry(tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("1. The secret paragraph.\n2. Another secret paragraph.\n3. And a third.\n")
    entries = [SR590, {"file": "../outside/secret.txt", "symbol": "X/1"}, {"file": str(secret), "symbol": "X/2"}]
    folder = manifest_case(tmp_path, entries)
    corpus = load_corpus(folder)
    messages = [str(p) for p in corpus.problems]
    assert any("entry 2 ('../outside/secret.txt')" in m and 'field "file"' in m for m in messages), messages
    assert any("entry 3" in m and 'field "file" must be a path inside' in m for m in messages), messages
    assert not any("secret" in p.text for p in corpus.passages)
    assert [d.source for d in corpus.documents] == ["CMW-C-SR.590.md"]
    (folder / "link.txt").symlink_to(secret)
    corpus = load_corpus(manifest_case(tmp_path, [SR590, {"file": "link.txt", "symbol": "X/3"}]))
    assert any("leads outside" in str(p) for p in corpus.problems)
    assert not any("secret" in p.text for p in corpus.passages)


def test_duplicate_ids_are_errors_naming_both_entries(tmp_path: Path) -> None:
    copy = {"file": "copy.md", "symbol": "CMW/C/SR.590", "kind": "summary_record"}
    folder = manifest_case(tmp_path, [SR590, copy], {"copy.md": (CORPUS_DIR / "CMW-C-SR.590.md").read_bytes()})
    corpus = load_corpus(folder)
    duplicate = [str(p) for p in corpus.problems if "also the id of" in p.message]
    assert len(duplicate) == 1 and "copy.md" in duplicate[0] and "CMW-C-SR.590.md" in duplicate[0], duplicate
    assert [d.source for d in corpus.documents] == ["CMW-C-SR.590.md"]
    # across folders too: the bundled corpus already holds CMW-C-SR.590
    both = load_corpus([CORPUS_DIR, manifest_case(tmp_path / "second", [SR590])])
    assert any("'CMW-C-SR.590' is also the id of" in str(p) and str(CORPUS_DIR) in str(p) for p in both.problems)
    assert len(both.documents) == 5


@pytest.mark.parametrize(
    ("documents", "words"),
    [
        ([{**SR590, "id": 506}], ["entry 1", 'field "id" must be a str', "int"]),
        ([{**SR590, "meeting": "590th"}], ['field "meeting" must be a int', "str"]),
        ([{**SR590, "kind": "general_commment"}], ['field "kind"', "general_commment", "general_comment"]),
        ([{**SR590, "id": "../../etc"}], ['field "id"', "may hold only"]),
        ([SR590, "CMW-C-SR.590.md"], ["entry 2 must be an object"]),
        ([SR590, {"symbol": "X/1"}], ['entry 2 has no "file"']),
        ([SR590, {"file": ["a.txt"]}], ['entry 2: field "file" must be a str', "list"]),
        ([SR590, {"file": "a\x00.txt"}], ['field "file" must be a path inside']),
        (5, ['"documents" must be a list', "not int"]),
        ({"file": "CMW-C-SR.590.md"}, ['"documents" must be a list', "not dict"]),
    ],
)
def test_wrong_types_and_unknown_kinds_are_named_errors(tmp_path: Path, documents: object, words: list[str]) -> None:
    code, output = check_output(manifest_case(tmp_path, documents))
    assert code == 1, output
    for word in words:
        assert word in output, output


def test_a_malformed_manifest_is_a_named_error(tmp_path: Path) -> None:
    folder = manifest_case(tmp_path, [SR590])
    (folder / "manifest.json").write_text('{"documents": [{"file": "CMW-C-SR.590.md",}]}')
    code, output = check_output(folder)
    assert code == 1 and "manifest.json" in output and "fix the JSON" in output, output


def test_special_files_are_named_and_never_read(tmp_path: Path) -> None:
    import os

    folder = manifest_case(tmp_path, [SR590, {"file": "x.txt", "symbol": "X/1"}, {"file": "pipe.txt", "symbol": "X/2"}])
    (folder / "x.txt").mkdir()
    os.mkfifo(folder / "pipe.txt")
    os.mkfifo(folder / "stray.txt")  # not in the manifest either
    code, output = check_output(folder)
    assert code == 1, output
    assert "x.txt: is a folder, not a regular file" in output, output
    assert "pipe.txt: is a FIFO, not a regular file" in output, output
    assert "stray.txt: not a regular file (a FIFO); skipped" in output, output
    assert "1 documents" in output


def test_a_build_over_a_corpus_with_errors_keeps_the_previous_index(settings, tmp_path: Path) -> None:
    """Each manifest case ends in a named error and exit 1; the index is untouched and still loads and serves."""
    from assistant.index import MANIFEST, load_index

    index_dir = tmp_path / "index"
    shutil.copytree(settings.index_dir, index_dir)
    before = (index_dir / MANIFEST).read_text()
    cases = [
        [SR590, {"file": "../../outside/secret.txt"}],
        [SR590, {**SR590, "file": "copy.md"}],
        [{**SR590, "id": 506}],
        5,
        [SR590, {"file": "x.txt"}],
    ]
    for number, documents in enumerate(cases):
        folder = manifest_case(tmp_path / f"case{number}", documents, {"copy.md": b"1. A.\n2. B.\n"})
        (folder / "x.txt").mkdir(exist_ok=True)
        result = CliRunner().invoke(app, ["build", "--corpus", str(folder), "--index", str(index_dir)])
        assert result.exit_code == 2, (documents, result.output)  # a user's error: exit 2, like every CLI error
        assert "the index in" in result.output and "is kept as it was" in result.output, result.output
        assert "--allow-errors" in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert (index_dir / MANIFEST).read_text() == before
    kept = settings.model_copy(update={"index_dir": index_dir})
    assert len(load_index(kept, load_corpus(CORPUS_DIR)).passages) == len(load_corpus(CORPUS_DIR).passages)


MANIFEST_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["file", "id", "kind", "symbol", "meeting", "date", "documents"]), inner, max_size=4
        )
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(MANIFEST_VALUES, st.booleans())
def test_any_manifest_gives_problems_never_an_exception(value: object, wrapped: bool) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "corpus"
        folder.mkdir()
        (folder / "manifest.json").write_text(json.dumps({"documents": value} if wrapped else value))
        corpus = load_corpus(folder)
        assert all(p.text for p in corpus.passages)
