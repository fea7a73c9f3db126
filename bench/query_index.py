"""Query a saved FAISS index the way the server does (one query at a time, one thread) and report its cost.

    python bench/query_index.py INDEX_FILE QUERIES.npy TRUTH.npy --nprobe 16

Runs in a process of its own, importing faiss and numpy only, so that its peak resident memory is what
serving that index costs, not what building it did. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import faiss
import numpy as np


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("index")
    parser.add_argument("queries")
    parser.add_argument("truth")
    parser.add_argument("--nprobe", type=int, default=0, help="lists probed by an IVF index; 0 for exact ones")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the queries for the latency figures")
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    index = faiss.read_index(args.index)
    queries, truth = np.load(args.queries), np.load(args.truth)
    params = faiss.SearchParametersIVF(nprobe=args.nprobe) if args.nprobe else None
    found, seconds = [], []
    for _ in range(args.rounds):
        found = []
        for query in queries:
            start = time.perf_counter()
            _, ids = index.search(query.reshape(1, -1), 10, params=params)
            seconds.append(time.perf_counter() - start)
            found.append(ids[0].tolist())
    hits = sum(len(set(f) & set(t)) for f, t in zip(found, truth.tolist(), strict=True))
    ms = sorted(s * 1000 for s in seconds)
    print(
        json.dumps(
            {
                "query_p50_ms": round(ms[len(ms) // 2], 2),
                "query_p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2),
                "recall_at_10": round(hits / truth.size, 4),
                "peak_rss_mb": peak_rss_mb(),
                "index_bytes": Path(args.index).stat().st_size,
            }
        )
    )


if __name__ == "__main__":
    main()
