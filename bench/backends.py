"""Embedding backends side by side: retrieval on every eval set, build time and query time, per backend.

    python bench/backends.py                       # torch, onnx, onnx-int8 over eval/questions.jsonl + eval/heldout*.jsonl
    ASSISTANT_CORPUS_DIR=corpus:../shared/realworld python bench/backends.py   # the corpus the later sets ask about
    python bench/backends.py --backend onnx --json

Each backend builds its own index from empty in a temporary folder (the build time printed), in fp32 and, on a
CPU with AMX, in bf16 as well (ASSISTANT_CPU_BF16=auto, the default there),
then every question set is searched with answers off (`assistant eval` does the same retrieval). The
default backend is chosen from this table: hybrid MRR@10 within 0.01 of fp32 PyTorch on every set.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.embeddings import BACKENDS, cpu_has_amx_bf16  # noqa: E402

SETS = [ROOT / "eval" / "questions.jsonl", *sorted((ROOT / "eval").glob("heldout*.jsonl"))]


def measure(overrides: dict, index_dir: Path) -> dict:
    """Build corpus/ from empty with these settings, then search every eval set: MRR@10 and recall@5 per set."""
    from assistant import evaluation
    from assistant.corpus import load_corpus
    from assistant.index import build_index
    from assistant.service import Assistant
    from assistant.settings import Settings

    settings = Settings(index_dir=index_dir, **overrides)
    corpus = load_corpus(settings.corpus_dirs)
    started = time.perf_counter()
    build_index(corpus, settings, progress=False)
    build_s = time.perf_counter() - started
    assistant = Assistant.open(settings)
    manifest = assistant.retriever.index.manifest
    row: dict = {**overrides, "build_s": round(build_s, 1), "vectors": manifest["vectors"]}
    row["embedded_with"] = manifest["embedded_with"]
    queries = []
    for path in SETS:
        report = evaluation.run_eval(
            assistant, evaluation.load_questions(path), ["hybrid", "dense"], answers=False, progress=False
        )
        figures = report.figures()
        row[path.stem] = {
            f"{mode}_{name}": round(figures[f"{mode}.{metric}"], 4)
            for mode in ("hybrid", "dense")
            for name, metric in (("mrr", "mrr@10"), ("recall5", "recall@5"))
        }
        queries += [r.retrieved["dense"].seconds * 1000 for r in report.results]
    queries.sort()
    row["dense_search_p50_ms"] = round(queries[len(queries) // 2], 2)
    return row


def table(rows: list[dict]) -> str:
    names = [p.stem for p in SETS]
    lines = [
        "| backend | index embedded with | build s | dense search p50 ms | "
        + " | ".join(f"{n} hybrid / dense MRR@10" for n in names)
        + " |",
        "| --- " * (4 + len(names)) + "|",
    ]
    for row in rows:
        cells = [f"{row[n]['hybrid_mrr']:.3f} / {row[n]['dense_mrr']:.3f}" for n in names]
        lines.append(
            f"| {row['backend']} | {row['embedded_with']} | {row['build_s']} | {row['dense_search_p50_ms']} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=BACKENDS, action="append")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    variants = [{"backend": backend, "cpu_bf16": "off"} for backend in args.backend or BACKENDS]
    if cpu_has_amx_bf16():  # the default build runtime on this CPU: bf16 PyTorch
        variants += [{"backend": v["backend"], "cpu_bf16": "auto"} for v in variants if v["backend"] != "onnx-int8"]
    with tempfile.TemporaryDirectory(prefix="assistant-backends-") as work:
        rows = [measure(v, Path(work) / f"{v['backend']}-{v['cpu_bf16']}") for v in variants]
    print(json.dumps(rows) if args.json else table(rows))


if __name__ == "__main__":
    main()
