"""Scale benchmark for retrieval: the real corpus, then 100k and 1M synthetic passages.

    .venv/bin/python bench/scale.py [--sizes 100000 1000000] [--retriever-size 100000] [--queries 153]
    .venv/bin/python bench/scale.py --sizes --retriever-size 0     # corpus size only: about a minute
    .venv/bin/python bench/scale.py --vectors 1000000 --json       # the index chosen at 1M: one JSON object
    .venv/bin/python bench/scale.py --vectors 1000000 --compare    # IVF-flat / IVF-SQ8 / IVF-PQ48 side by side

1. Corpus size: a full build into a temp folder (model load, embedding, FAISS, files), a second build
   (nothing to do), a forced rebuild (every vector from the cache), then search latency per mode in a
   warm process, query embedding included.
2. 100k passages: synthetic passages (sentences of the corpus shuffled into new passages, vectors
   mixed from real passage embeddings) served by the real Retriever: BM25 index time, hybrid latency.
3. Vectors alone at each size: index build (exact up to FLAT_LIMIT, IVF beyond), recall@10 of the
   index against exact search for the eval questions' real embeddings, search latency, memory.

Synthetic vectors, not 1M embedded texts: embedding 1M passages would take this 2-core machine about
8 hours. Each synthetic vector mixes two real passage embeddings plus noise, so vectors cluster the
way real ones do (uniform random vectors would make every neighbour equally far and recall meaningless).
Results print as a table and go to bench/results/scale-<date>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import faiss
import numpy as np

from assistant.corpus import Corpus, load_corpus
from assistant.embeddings import Embedder
from assistant.index import FLAT_LIMIT, STORAGES, Index, build_index, load_index, make_vector_index, recall_at
from assistant.retrieval import Retriever
from assistant.settings import PROJECT_ROOT, Settings

RESULTS = PROJECT_ROOT / "bench" / "results"
SENTENCE = re.compile(r"(?<=[.;?!])\s+(?=[A-Z])")


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {"p50_ms": round(statistics.median(ms), 2), "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2)}


def timed(function, items) -> dict[str, float]:
    seconds = []
    for item in items:
        start = time.perf_counter()
        function(item)
        seconds.append(time.perf_counter() - start)
    return percentiles(seconds)


def peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def eval_questions(limit: int) -> list[str]:
    lines = (PROJECT_ROOT / "eval" / "questions.jsonl").read_text().splitlines()
    return [json.loads(line)["question"] for line in lines][:limit]


# ---- 1. the corpus as it is ----


def corpus_size(corpus: Corpus, questions: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(index_dir=Path(folder) / "index")
        embedder = Embedder.from_settings(settings)
        start = time.perf_counter()
        embedder.encode(["warm up"])
        model_load = time.perf_counter() - start
        first = build_index(corpus, settings, embedder, progress=False)
        again = build_index(corpus, settings, embedder, progress=False)
        forced = build_index(corpus, settings, embedder, force=True, progress=False)
        start = time.perf_counter()
        index = load_index(settings, corpus, embedder)
        retriever = Retriever(index, embedder)
        load = time.perf_counter() - start
        for question in questions[:5]:  # warm caches: the first queries pay for lazy initialisation
            retriever.search(question)
        latency = {mode: timed(lambda q, m=mode: retriever.search(q, k=10, mode=m), questions) for mode in MODES}
        files = {p.name: p.stat().st_size for p in settings.index_dir.iterdir()}
    return {
        "passages": first.passages,
        "vectors": index.manifest["vectors"],
        "index_type": index.manifest["index_type"],
        "model_load_s": round(model_load, 2),
        "build_s": round(first.seconds, 2),
        "second_build_s": round(again.seconds, 3),
        "second_build_embedded": again.embedded,
        "forced_rebuild_s": round(forced.seconds, 2),
        "forced_rebuild_embedded": forced.embedded,
        "load_s": round(load, 2),
        "search": latency,
        "index_files_bytes": files,
    }


MODES = ("hybrid", "dense", "bm25")


# ---- synthetic data ----


def synthetic_vectors(base: np.ndarray, n: int, seed: int = 0, noise: float = 0.35) -> np.ndarray:
    """n unit vectors, each w*a + (1-w)*b + noise for real embeddings a, b: clustered like real passages."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):  # in chunks: a 1M x 384 float64 temporary would take 3 GB
        m = min(100_000, n - start)
        a, b = base[rng.integers(len(base), size=m)], base[rng.integers(len(base), size=m)]
        w = rng.random((m, 1), dtype=np.float32)
        mixed = w * a + (1 - w) * b + rng.normal(scale=noise / np.sqrt(base.shape[1]), size=a.shape)
        out[start : start + m] = mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
    return out


def synthetic_passages(corpus: Corpus, n: int, seed: int = 0) -> tuple[list, list[str]]:
    """n passages (real metadata, numbered anew) whose texts are 2-6 corpus sentences drawn at random."""
    rng = random.Random(seed)
    sentences = [s for p in corpus.passages for s in SENTENCE.split(p.text) if len(s) > 20]
    passages, texts = [], []
    for i in range(n):
        model = corpus.passages[i % len(corpus.passages)]
        text = " ".join(rng.choices(sentences, k=rng.randint(2, 6)))
        passages.append(replace(model, paragraph=str(i + 1), number=i + 1, order=i, text=text))
        texts.append(f"{model.document}\n{text}")
    return passages, texts


# ---- 2. the real retriever over 100k synthetic passages ----


def retriever_at(n: int, corpus: Corpus, base: np.ndarray, embedder: Embedder, questions: list[str]) -> dict:
    passages, texts = synthetic_passages(corpus, n)
    vectors = synthetic_vectors(base, n, seed=1)
    vector_index, info = make_vector_index(vectors, np.arange(n, dtype=np.int64))
    manifest = {**info, "max_windows": 1}
    start = time.perf_counter()
    retriever = Retriever(Index(passages, texts, vector_index, manifest, {d.id: d for d in corpus.documents}), embedder)
    setup = time.perf_counter() - start
    for question in questions[:5]:
        retriever.search(question)
    latency = {mode: timed(lambda q, m=mode: retriever.search(q, k=10, mode=m), questions) for mode in MODES}
    return {
        "passages": n,
        "index_type": info["index_type"],
        "bm25_and_names_setup_s": round(setup, 2),
        "bm25_index_mb": round(
            sum(a.nbytes for a in retriever.lexical.bm25.scores.values() if hasattr(a, "nbytes")) / 2**20, 1
        ),
        "search": latency,
    }


# ---- 3. vectors alone: build, recall against exact, latency, memory ----


def vectors_at(n: int, base: np.ndarray, queries: np.ndarray) -> dict:
    vectors = synthetic_vectors(base, n, seed=2)
    start = time.perf_counter()
    index, info = make_vector_index(vectors, np.arange(n, dtype=np.int64))
    build = time.perf_counter() - start
    params = faiss.SearchParametersIVF(nprobe=info["nprobe"]) if info["index_type"] == "ivf" else None
    _, exact = faiss.knn(queries, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    _, found = index.search(queries, 10, params=params)
    faiss.omp_set_num_threads(1)  # as the Retriever serves: one query at a time, one thread each
    latency = timed(lambda q: index.search(q.reshape(1, -1), 10, params=params), queries)
    faiss.omp_set_num_threads(2)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "vectors.faiss"
        start = time.perf_counter()
        faiss.write_index(index, str(path))
        write = time.perf_counter() - start
        size = path.stat().st_size
    return {
        "vectors": n,
        **info,
        "build_s": round(build, 2),
        "recall_at_10_eval_queries": round(recall_at(found.tolist(), exact.tolist()), 4),
        "search": latency,
        "index_file_mb": round(size / 2**20, 1),
        "write_s": round(write, 2),
        "peak_memory_mb_so_far": peak_mb(),
    }


# ---- 4. one size, served from the saved index: what a query costs in time, recall and memory ----


def served_at(n: int, storages: list[str], base: np.ndarray, queries: np.ndarray) -> list[dict]:
    """Build each storage over the same n vectors, save it, and query it from a fresh process (bench/query_index.py)
    whose peak resident memory is the serving cost: the build's 1.5 GB of float vectors never enter it."""
    vectors = synthetic_vectors(base, n, seed=2)
    _, truth = faiss.knn(queries, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        np.save(Path(folder) / "queries.npy", queries)
        np.save(Path(folder) / "truth.npy", truth)
        for storage in storages:
            start = time.perf_counter()
            index, info = make_vector_index(vectors, np.arange(n, dtype=np.int64), storage=storage)
            build = time.perf_counter() - start
            path = Path(folder) / f"{storage}.faiss"
            faiss.write_index(index, str(path))
            del index
            command = [sys.executable, str(Path(__file__).with_name("query_index.py")), str(path)]
            command += [f"{folder}/queries.npy", f"{folder}/truth.npy", "--nprobe", str(info.get("nprobe", 0))]
            served = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            rows.append({"vectors": n, **info, "build_s": round(build, 1), **served})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def served_main(args: argparse.Namespace) -> None:
    questions = eval_questions(args.queries)
    corpus = load_corpus(PROJECT_ROOT / "corpus")
    embedder = Embedder.from_settings(Settings())
    base = embedder.encode([p.text for p in corpus.passages])
    queries = embedder.encode(questions)
    storages = list(STORAGES) if args.compare else ["sq8"]
    rows = served_at(args.vectors, storages, base, queries)
    result = {**next(r for r in rows if r.get("storage", "sq8") == "sq8"), "build_peak_rss_mb": peak_mb()}
    if args.compare:
        result["compared"] = rows
        print(storage_table(rows), file=sys.stderr)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"scale-{args.vectors}-{date.today().isoformat()}.json"
    path.write_text(json.dumps({**result, "load_average": os.getloadavg()}, indent=2) + "\n")
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


def storage_table(rows: list[dict]) -> str:
    lines = ["| storage | index MB | query p50 / p95 ms | recall@10 | peak RSS querying MB | nprobe | build s |"]
    lines.append("| --- " * 7 + "|")
    for r in rows:
        lines.append(
            f"| IVF{r['nlist']}-{r['storage']} | {r['index_bytes'] / 2**20:.0f} | {r['query_p50_ms']} / "
            f"{r['query_p95_ms']} | {r['recall_at_10']} | {r['peak_rss_mb']:.0f} | {r['nprobe']} | {r['build_s']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vectors", type=int, help="only: build the index chosen at this size, then query it")
    parser.add_argument("--compare", action="store_true", help="with --vectors: every storage, side by side")
    parser.add_argument("--json", action="store_true", help="with --vectors: one JSON object")
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000], help="vector counts; none: skip")
    parser.add_argument("--retriever-size", type=int, default=100_000, help="passages for the full retriever; 0: skip")
    parser.add_argument("--queries", type=int, default=153, help="eval questions used as queries")
    args = parser.parse_args()
    if args.vectors:
        served_main(args)
        return
    questions = eval_questions(args.queries)
    corpus = load_corpus(PROJECT_ROOT / "corpus")
    results: dict = {"date": date.today().isoformat(), "flat_limit": FLAT_LIMIT, "queries": len(questions)}
    results["load_average_at_start"] = os.getloadavg()  # the machine is shared: latency depends on what else runs

    results["corpus"] = corpus_size(corpus, questions)
    print_corpus(results["corpus"])
    embedder = Embedder()
    embedder.serve_queries()
    base = embedder.encode([p.text for p in corpus.passages])
    queries = embedder.encode(questions)
    if args.retriever_size:
        results["retriever"] = retriever_at(args.retriever_size, corpus, base, embedder, questions)
        print_retriever(results["retriever"])
    results["vectors"] = []
    for n in args.sizes:
        results["vectors"].append(vectors_at(n, base, queries))
        print_vectors(results["vectors"][-1])
    results["peak_memory_mb"] = peak_mb()
    results["load_average_at_end"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    partial = "" if args.sizes and args.retriever_size else "-partial"  # never overwrite a full run's figures
    path = RESULTS / f"scale-{results['date']}{partial}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\npeak memory {results['peak_memory_mb']} MB; results in {path.relative_to(PROJECT_ROOT)}")


def latency_line(search: dict) -> str:
    return "  ".join(f"{mode} p50 {v['p50_ms']} ms p95 {v['p95_ms']} ms" for mode, v in search.items())


def print_corpus(r: dict) -> None:
    print(f"corpus: {r['passages']} passages, {r['vectors']} vectors ({r['index_type']})")
    print(f"  model load {r['model_load_s']} s; build {r['build_s']} s; second build {r['second_build_s']} s")
    print(f"  forced rebuild {r['forced_rebuild_s']} s ({r['forced_rebuild_embedded']} embedded); load {r['load_s']} s")
    print(f"  search (query embedding included): {latency_line(r['search'])}")


def print_retriever(r: dict) -> None:
    print(f"retriever over {r['passages']:,} synthetic passages ({r['index_type']}):")
    print(f"  BM25 + names setup {r['bm25_and_names_setup_s']} s; BM25 index {r['bm25_index_mb']} MB")
    print(f"  search: {latency_line(r['search'])}")


def print_vectors(r: dict) -> None:
    ivf = f", nlist {r['nlist']}, nprobe {r['nprobe']}" if r["index_type"] == "ivf" else ""
    print(f"vectors {r['vectors']:,}: {r['index_type']}{ivf}; build {r['build_s']} s")
    print(f"  recall@10 vs exact (eval questions) {r['recall_at_10_eval_queries']}")
    print(f"  search p50 {r['search']['p50_ms']} ms p95 {r['search']['p95_ms']} ms (no query embedding)")
    print(
        f"  index file {r['index_file_mb']} MB (written in {r['write_s']} s); peak memory {r['peak_memory_mb_so_far']} MB"
    )


if __name__ == "__main__":
    main()
