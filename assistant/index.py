"""The index: one vector per passage window in FAISS, the passage store and a manifest, in settings.index_dir.

The manifest stamps the index with what built it (model and weights fingerprint, corpus hash,
checksums of its files); `load_index` refuses an index whose stamp does not match and says how to
rebuild. A build writes into a staging folder beside index_dir and renames it into place, so a
build that dies halfway leaves the previous index serving. Embeddings are cached by the hash of
the embedded text and the model, so a rebuild embeds only new or changed passages.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import time
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np

from assistant import sentences
from assistant.corpus import Corpus
from assistant.documents import Document
from assistant.embeddings import WINDOW_OVERLAP, Embedder
from assistant.passages import Passage
from assistant.sentences import SentenceVectors
from assistant.settings import Settings
from assistant.text import human_date

FORMAT = 3  # 2: sentence vectors stored; 3: sentences as the answering package splits them. Bump when the files or the embedded text change shape: older indexes then ask for a rebuild
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
STORE = "passages.json"
CACHE_VECTORS = "embedding-cache.npy"
CACHE_KEYS = "embedding-cache.json"
INDEX_FILES = (VECTORS, STORE, *sentences.FILES)  # checksummed in the manifest; any missing is damage
OUR_FILES = {MANIFEST, VECTORS, STORE, CACHE_VECTORS, CACHE_KEYS, *sentences.FILES, ".gitkeep"}
FLAT_LIMIT = 100_000  # vectors (~3 a passage here); exact search over 100k: ~5 ms a query on one core; beyond: IVF
RECALL_TARGET = 0.95  # recall@10 of IVF against exact search, measured at build time to choose nprobe
REBUILD = "run `assistant build`"


class IndexNotReady(Exception):
    """The index is missing, stale or damaged; the message says which and the command that fixes it."""


@dataclass
class BuildReport:
    built: bool
    reason: str
    passages: int
    embedded: int  # passages with at least one window embedded in this build
    reused: int  # passages whose vectors all came from the cache
    seconds: float


@dataclass
class Index:
    passages: list[Passage]
    texts: list[str]  # what was embedded and what BM25 reads: context lines, then the passage text
    vectors: faiss.Index  # ids are positions in `passages`; a long passage has several windows under one id
    manifest: dict
    documents: dict[str, Document]  # by doc_id
    sentences: SentenceVectors = field(default_factory=SentenceVectors.empty)  # embedded at build time

    def sentence_vectors(self, position: int) -> tuple[list[tuple[int, int]], np.ndarray]:
        """(spans, unit vectors) of the sentences of passages[position]; spans index the passage's verbatim text."""
        return self.sentences.of(position)

    def nearest(self, query: np.ndarray, n: int, allowed: list[int] | None = None) -> list[tuple[int, float]]:
        """(passage position, best window score) of the n passages nearest to a unit query vector, best first."""
        if allowed is not None and not allowed:
            return []
        fetch = min(self.vectors.ntotal, n * self.manifest["max_windows"])
        params = self.search_params(allowed)
        scores, ids = self.vectors.search(query.reshape(1, -1).astype(np.float32), fetch, params=params)
        best: dict[int, float] = {}
        for pid, score in zip(ids[0].tolist(), scores[0].tolist(), strict=True):
            if pid >= 0 and pid not in best:
                best[pid] = score
        return list(best.items())[:n]

    def search_params(self, allowed: list[int] | None) -> faiss.SearchParameters | None:
        selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64)) if allowed is not None else None
        if self.manifest["index_type"] != "ivf":
            return faiss.SearchParameters(sel=selector) if selector else None
        nprobe = self.manifest["nprobe"]
        if allowed is not None:  # a filter keeps few vectors per list: probe more lists to find as many
            nprobe = min(self.manifest["nlist"], nprobe * max(1, len(self.passages) // len(allowed)))
        return faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)


# ---- the text a passage is found by: its context, then its words ----


def is_chair(speaker: str | None) -> bool:
    return bool(speaker) and speaker.lower().startswith("the chair")


def speaker_line(passage: Passage, document: Document | None) -> str:
    """'Mr. Flynn (Global Detention Project)'; the Chair gets the name the record's header gives."""
    who = passage.speaker or ""
    if is_chair(who) and document and document.chair:
        who = f"{who} ({document.chair})"
    return f"{who} ({passage.affiliation})" if passage.affiliation else who


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def context_prefix(passage: Passage, document: Document | None) -> str:
    """Where the passage stands, one line each: document (meeting, session, date), section, speaker.

    e.g. 'CMW/C/SR.506 (506th meeting, Thirty-fifth session, 27 September 2022)'. The document title
    goes on the header only: repeated on every passage it made them all look like headers (comparing
    text variants on the eval set: dense MRR@10 0.645 with it, 0.686 without; BM25 0.838 against 0.860).
    The context itself earns its place: BM25 on the bare text scores 0.833, against 0.855.
    """
    where = [
        f"{ordinal(document.meeting)} meeting" if document and document.meeting else None,
        document.session if document else passage.session,
        human_date(passage.date),
    ]
    details = ", ".join(part for part in where if part)
    lines = [f"{passage.document} ({details})" if details else passage.document]
    if passage.kind == "header" and document:
        lines += header_facts(passage, document)
    if passage.section:
        lines.append(passage.section)
    if passage.speaker:
        lines.append(f"{speaker_line(passage, document)}:")
    if passage.kind == "footnote":
        lines.append(f"Footnote {passage.number}" + (f" to {passage.parent}" if passage.parent else ""))
    return "\n".join(lines) + "\n"


def header_facts(passage: Passage, document: Document) -> list[str]:
    """The document's metadata, labelled, for questions about it ('who chaired', 'full title'); what the text lacks."""
    facts = {
        "Title": document.title,
        "Chair": document.chair,
        "Place": document.place,
        "Date": human_date(document.date),
        "Issued": human_date(document.issued),
    }
    return [f"{name}: {value}" for name, value in facts.items() if value and value not in passage.text]


def text_hash(texts: list[str]) -> str:
    return hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


# ---- checks: what is wrong with the index on disk, if anything ----


def read_manifest(index_dir: Path) -> dict | None:
    try:
        manifest = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def windows_of(settings: Settings) -> dict:
    """How passages are cut into embedded windows: recorded in the manifest, a change asks for a rebuild."""
    short = settings.short_window
    return {"short": short, "short_overlap": short * 3 // 8, "overlap": WINDOW_OVERLAP}  # 64 -> 24 shared


def index_problem(index_dir: Path, corpus: Corpus, embedder: Embedder, windows: dict | None = None) -> str | None:
    """Why the index in index_dir cannot serve this corpus and model, or None when it can."""
    if not (index_dir / MANIFEST).exists():
        return f"there is no index in {index_dir}"
    manifest = read_manifest(index_dir)
    if manifest is None:
        return f"its manifest {index_dir / MANIFEST} is damaged"
    if manifest.get("format") != FORMAT:
        return f"it was built in format {manifest.get('format')}, this version reads format {FORMAT}"
    windows = windows or windows_of(Settings())
    if manifest.get("windows") != windows:
        return f"it was built with windows {manifest.get('windows')}, the settings cut {windows}"
    if manifest.get("model") != embedder.name:
        return f"it was built with model {manifest.get('model')!r}, the settings ask for {embedder.name!r}"
    if manifest.get("precision", "fp32") != embedder.precision:
        return (
            f"its vectors were computed in {manifest.get('precision', 'fp32')} (backend {manifest.get('backend')!r}), "
            f"the settings ask for backend {embedder.backend!r} ({embedder.precision})"
        )
    if manifest.get("corpus_hash") != corpus.content_hash:
        then, now = manifest.get("passages"), len(corpus.passages)
        return f"the corpus changed since it was built ({then} passages then, {now} now)"
    if manifest.get("text_hash") != text_hash(indexed_texts(corpus)):
        return "the documents' metadata (titles, sessions, chairs) changed since it was built"
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != set(INDEX_FILES):
        # Without the checksums a shortened or swapped file would be served; treat it like any damage.
        return f"its manifest {index_dir / MANIFEST} is damaged (the checksums of {', '.join(INDEX_FILES)} are missing)"
    for name, digest in files.items():
        path = index_dir / name
        if not path.exists():
            return f"{path} is missing"
        if file_hash(path) != digest:
            return f"{path} is damaged (its checksum does not match the manifest)"
    if manifest.get("fingerprint") != embedder.fingerprint:
        return f"the weights of model {embedder.name!r} changed since it was built"
    return None


def context_prefixes(corpus: Corpus) -> list[str]:
    documents = {d.id: d for d in corpus.documents}
    return [context_prefix(p, documents.get(p.doc_id)) for p in corpus.passages]


def indexed_texts(corpus: Corpus) -> list[str]:
    return [prefix + p.text for prefix, p in zip(context_prefixes(corpus), corpus.passages, strict=True)]


# ---- loading ----


def load_index(settings: Settings, corpus: Corpus, embedder: Embedder | None = None) -> Index:
    """The index for this corpus and model; raises IndexNotReady when it is missing, stale or damaged."""
    embedder = embedder or Embedder.from_settings(settings)
    index_dir = settings.index_dir
    restore_interrupted_swap(index_dir)
    problem = index_problem(index_dir, corpus, embedder, windows_of(settings))
    if problem:
        raise IndexNotReady(f"The index is not ready: {problem}; {REBUILD} to build it.")
    manifest = read_manifest(index_dir) or {}
    try:
        vectors = faiss.read_index(str(index_dir / VECTORS))
        store = json.loads((index_dir / STORE).read_text(encoding="utf-8"))
        sentence_vectors = SentenceVectors.load(index_dir)
    except (RuntimeError, OSError, ValueError) as err:  # faiss raises RuntimeError on an unreadable file
        raise IndexNotReady(f"The index in {index_dir} cannot be read ({err}); {REBUILD} to rebuild it.") from err
    return Index(
        passages=[passage_from_dict(d) for d in store["passages"]],
        texts=store["texts"],
        vectors=vectors,
        manifest=manifest,
        documents={d.id: d for d in corpus.documents},
        sentences=sentence_vectors,
    )


PASSAGE_FIELDS = {f.name for f in fields(Passage)}


def passage_from_dict(data: dict) -> Passage:
    values = {k: v for k, v in data.items() if k in PASSAGE_FIELDS}
    values["footnotes"] = tuple(values.get("footnotes", ()))
    return Passage(**values)


# ---- building ----


def build_index(
    corpus: Corpus, settings: Settings, embedder: Embedder | None = None, force: bool = False, progress: bool = True
) -> BuildReport:
    """Build (or refresh) the index in settings.index_dir; nothing to do when it is up to date."""
    started = time.perf_counter()
    embedder = embedder or Embedder.from_settings(settings)
    index_dir = settings.index_dir
    restore_interrupted_swap(index_dir)
    check_is_index_folder(index_dir)
    remove_abandoned_builds(index_dir)
    problem = index_problem(index_dir, corpus, embedder, windows_of(settings))
    if problem is None and not force:
        return BuildReport(False, "up to date", len(corpus.passages), 0, 0, time.perf_counter() - started)
    texts, windows, owners = cut_windows(corpus, embedder, settings.short_window)
    sentence_vectors, sentence_texts = SentenceVectors.cut([p.text for p in corpus.passages])
    embedded = windows + sentence_texts  # one pass, one cache: a sentence that is also a window is embedded once
    keys = [cache_key(vector_family(embedder), text) for text in embedded]
    all_vectors, fresh = embed_with_cache(
        embedder, embedded, keys, read_cache(index_dir), settings.batch_size, progress
    )
    vectors, sentence_vectors.vectors = all_vectors[: len(windows)], all_vectors[len(windows) :]
    vector_index, info = make_vector_index(vectors, np.asarray(owners, dtype=np.int64))
    manifest = {
        "format": FORMAT,
        "model": embedder.name,
        "fingerprint": embedder.fingerprint,
        "backend": embedder.backend,
        "precision": embedder.precision,
        "embedded_with": embedder.bulk_model.runtime if fresh else None,  # None: every vector came from the cache
        "dim": embedder.dim,
        "max_tokens": embedder.max_tokens,
        "corpus_hash": corpus.content_hash,
        "text_hash": text_hash(texts),
        "passages": len(corpus.passages),
        "vectors": len(windows),
        "windows": windows_of(settings),
        "sentences": len(sentence_texts),
        "max_windows": int(np.bincount(owners).max(initial=1)),
        **info,
        "versions": library_versions(),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(time.perf_counter() - started, 2),  # up to writing the files
    }
    store = {"passages": [p.to_dict() for p in corpus.passages], "texts": texts}
    staging = write_staging(index_dir, vector_index, store, sentence_vectors, all_vectors, keys, manifest)
    swap_in(staging, index_dir)
    sentence_owners = np.repeat(np.arange(len(corpus.passages)), np.diff(sentence_vectors.offsets))
    changed = len({owners[i] if i < len(windows) else int(sentence_owners[i - len(windows)]) for i in fresh})
    reason = "forced" if problem is None else problem
    seconds = time.perf_counter() - started
    return BuildReport(True, reason, len(corpus.passages), changed, len(corpus.passages) - changed, seconds)


def cut_windows(corpus: Corpus, embedder: Embedder, short_window: int) -> tuple[list[str], list[str], list[int]]:
    """Each passage's indexed text, and the windows to embed with the position of the passage each belongs to."""
    prefixes = context_prefixes(corpus)
    texts = [prefix + p.text for prefix, p in zip(prefixes, corpus.passages, strict=True)]
    windows, owners = [], []
    for i, passage in enumerate(corpus.passages):
        pieces = passage_windows(embedder, passage.text, prefixes[i], short_window)
        windows += pieces
        owners += [i] * len(pieces)
    return texts, windows, owners


def write_staging(
    index_dir: Path,
    vector_index: faiss.Index,
    store: dict,
    sentence_vectors: SentenceVectors,
    vectors: np.ndarray,
    keys: list[str],
    manifest: dict,
) -> Path:
    """Every file of the new index in a folder beside index_dir; the manifest, written last, marks it complete."""
    staging = index_dir.parent / f".{index_dir.name}.building-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    faiss.write_index(vector_index, str(staging / VECTORS))
    (staging / STORE).write_text(json.dumps(store, ensure_ascii=False), encoding="utf-8")
    sentence_vectors.save(staging)
    np.save(staging / CACHE_VECTORS, vectors)
    (staging / CACHE_KEYS).write_text(json.dumps(keys), encoding="utf-8")
    manifest["files"] = {name: file_hash(staging / name) for name in INDEX_FILES}
    manifest["cache"] = {name: file_hash(staging / name) for name in (CACHE_VECTORS, CACHE_KEYS)}
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return staging


def passage_windows(embedder: Embedder, text: str, prefix: str, short_window: int) -> list[str]:
    """The whole passage (in model-sized windows if long), and short windows that each hold a sentence or two.

    A passage often makes several points; its whole vector blurs them, a short window keeps one
    sharp, and the passage counts its best window. On the eval set: dense MRR@10 0.674 -> 0.724,
    hybrid 0.867 -> 0.897; "Why do so few States join the Convention?" ranks SR.506 para. 4 5th, not 19th.
    """
    whole = embedder.windows(text, prefix)
    if not short_window:
        return whole
    short = embedder.windows(text, prefix, size=short_window, overlap=short_window * 3 // 8)
    return whole + (short if len(short) > 1 else [])


def check_is_index_folder(index_dir: Path) -> None:
    """The swap replaces index_dir whole: refuse a folder that holds anything but an index."""
    if index_dir.is_dir():
        strangers = sorted(p.name for p in index_dir.iterdir() if p.name not in OUR_FILES)
        if strangers:
            raise IndexNotReady(
                f"{index_dir} holds files that are not part of an index ({', '.join(strangers[:5])}); "
                "point ASSISTANT_INDEX_DIR (or --index) at an empty or index-only folder"
            )
    elif index_dir.exists():
        raise IndexNotReady(f"{index_dir} is a file, not a folder; point ASSISTANT_INDEX_DIR at a folder")


def remove_abandoned_builds(index_dir: Path) -> None:
    """Staging folders of builds that were killed: their process is gone."""
    for path in index_dir.parent.glob(f".{index_dir.name}.building-*"):
        pid = path.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def restore_interrupted_swap(index_dir: Path) -> None:
    """A build killed between swap_in's two renames leaves the old index aside: put it back."""
    for path in sorted(index_dir.parent.glob(f".{index_dir.name}.previous-*"), key=lambda p: p.stat().st_mtime):
        pid = path.name.rsplit("-", 1)[-1]
        if pid.isdigit() and process_alive(int(pid)):
            continue  # a swap in progress in another process
        if index_dir.exists():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.rename(index_dir)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def swap_in(staging: Path, index_dir: Path) -> None:
    """Two renames: the old index steps aside, the new one takes its name; each rename is atomic."""
    previous = index_dir.parent / f".{index_dir.name}.previous-{os.getpid()}"
    if index_dir.exists():
        index_dir.rename(previous)
    staging.rename(index_dir)
    shutil.rmtree(previous, ignore_errors=True)


def library_versions() -> dict[str, str]:
    import bm25s
    import sentence_transformers
    import torch

    return {
        "python": platform.python_version(),
        "faiss": faiss.__version__,
        "numpy": np.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "torch": torch.__version__,
        "bm25s": bm25s.__version__,
    }


# ---- the embedding cache: vectors by hash of (model fingerprint, embedded text) ----


def vector_family(embedder: Embedder) -> str:
    """What a cached vector depends on: the weights, and int8 apart (fp32 keys are those of earlier builds)."""
    return embedder.fingerprint if embedder.precision == "fp32" else f"{embedder.fingerprint}-{embedder.precision}"


def cache_key(fingerprint: str, text: str) -> str:
    return hashlib.sha256(f"{fingerprint}\x00{text}".encode()).hexdigest()[:32]


def read_cache(index_dir: Path) -> dict[str, np.ndarray]:
    """The previous build's vectors by key; a damaged or missing cache only means more embedding."""
    manifest = read_manifest(index_dir) or {}
    digests = manifest.get("cache", {})
    try:
        if any(file_hash(index_dir / name) != digest for name, digest in digests.items()) or not digests:
            return {}
        keys = json.loads((index_dir / CACHE_KEYS).read_text(encoding="utf-8"))
        vectors = np.load(index_dir / CACHE_VECTORS)
    except (OSError, ValueError):
        return {}
    return dict(zip(keys, vectors, strict=False)) if len(keys) == len(vectors) else {}


def embed_with_cache(
    embedder: Embedder, texts: list[str], keys: list[str], cache: dict[str, np.ndarray], batch_size: int, progress: bool
) -> tuple[np.ndarray, list[int]]:
    """Vectors for all texts, and the positions that had to be embedded now."""
    fresh = [i for i, key in enumerate(keys) if key not in cache]
    embedded = embedder.encode_corpus([texts[i] for i in fresh], batch_size=batch_size, show_progress=progress)
    vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for i, key in enumerate(keys):
        if key in cache:
            vectors[i] = cache[key]
    if fresh:
        vectors[fresh] = embedded
    return vectors, fresh


# ---- the vector index: exact while small, IVF with 8-bit codes and a measured recall beyond ----

STORAGES = ("flat", "sq8", "pq48")  # per vector: 4 bytes a dimension, 1 byte a dimension, 48 bytes in all


def make_vector_index(
    vectors: np.ndarray,
    ids: np.ndarray,
    flat_limit: int = FLAT_LIMIT,
    recall_target: float = RECALL_TARGET,
    storage: str = "sq8",
) -> tuple[faiss.Index, dict]:
    """An inner-product index over unit vectors (so scores are cosines), and what to record about it.

    Up to flat_limit vectors: exact. Beyond, IVF with 8-bit scalar-quantised vectors: on 1M synthetic vectors
    (bench/scale.py --compare) IVF-flat held 1.5 GB, IVF-SQ8 0.4 GB at the same recall@10 and latency, and
    IVF-PQ48 0.06 GB but recall@10 far below 0.95 without a re-ranking copy.
    """
    n, dim = vectors.shape
    if n <= flat_limit:
        index = faiss.IndexIDMap(faiss.IndexFlatIP(dim))
        index.add_with_ids(vectors, ids)
        return index, {"index_type": "flat"}
    # sqrt(n) lists: 1,000,000 vectors -> 1,000 lists of ~1,000. More lists search faster but train slower:
    # k-means over n x nlist x dim dominates the build, and this must build on 2 cores in minutes.
    nlist = int(np.sqrt(n))
    ivf = ivf_index(dim, nlist, storage)
    sample = np.random.default_rng(0).choice(n, size=min(n, 50 * nlist), replace=False)  # faiss asks >= 39 a list
    ivf.train(vectors[np.sort(sample)])
    index = faiss.IndexIDMap(ivf)
    for start in range(0, n, 100_000):  # in chunks: faiss copies what it is given
        index.add_with_ids(vectors[start : start + 100_000], ids[start : start + 100_000])
    nprobe, recall = tune_nprobe(ivf, vectors, recall_target)
    ivf.nprobe = nprobe
    info = {"index_type": "ivf", "storage": storage, "nlist": nlist, "nprobe": nprobe}
    return index, {**info, "recall_at_10": round(recall, 4)}


def ivf_index(dim: int, nlist: int, storage: str) -> faiss.IndexIVF:
    quantizer = faiss.IndexFlatIP(dim)
    if storage == "flat":
        return faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    if storage == "sq8":
        return faiss.IndexIVFScalarQuantizer(
            quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
    if storage == "pq48":
        return faiss.IndexIVFPQ(quantizer, dim, nlist, 48, 8, faiss.METRIC_INNER_PRODUCT)
    raise ValueError(f"unknown vector storage {storage!r}; use one of: {', '.join(STORAGES)}")


def tune_nprobe(ivf: faiss.IndexIVF, vectors: np.ndarray, target: float, queries: int = 200) -> tuple[int, float]:
    """The smallest power-of-two nprobe whose recall@10 against exact search reaches the target.

    The probe queries are midpoints of two stored vectors: a question rarely sits on a passage, it falls
    between topics. On 200k synthetic vectors, midpoints needed nprobe 16 for 0.95 (eval questions then got
    0.995), stored vectors only 2 (eval questions then got 0.81).
    """
    rng = np.random.default_rng(1)
    pairs = vectors[rng.integers(len(vectors), size=(queries, 2))].sum(axis=1)
    probes = (pairs / np.maximum(np.linalg.norm(pairs, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    _, truth = faiss.knn(probes, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)  # exact, without a second copy
    nprobe = 1
    while True:
        _, found = ivf.search(probes, 10, params=faiss.SearchParametersIVF(nprobe=nprobe))
        recall = recall_at(found.tolist(), truth.tolist())
        if recall >= target or nprobe >= ivf.nlist:
            return nprobe, recall
        nprobe = min(ivf.nlist, nprobe * 2)


def recall_at(found: list[list[int]], truth: list[list[int]]) -> float:
    """Share of the true neighbours that were found, averaged over queries."""
    hits = sum(len(set(f) & set(t)) for f, t in zip(found, truth, strict=True))
    return hits / max(1, sum(len(t) for t in truth))
