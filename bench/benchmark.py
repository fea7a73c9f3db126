"""Benchmark: prints and saves the figures the README quotes. Not a test: nothing here fails on a slow machine.

    python bench/benchmark.py                 # everything on this machine (a few minutes)
    python bench/benchmark.py --only embed    # embedding throughput only (run it on a GPU machine too)
    python bench/benchmark.py --load-questions 2000 --clients 32

Figures: index build time for the corpus (cold and up to date), cold start of the server to its first
answer, ask and search latency p50/p95 in process and over HTTP, throughput and p50/p95/p99 under a
bounded loopback load test, peak memory, embedding throughput (CPU or GPU), and the large-scale
retrieval figures of bench/scale.py when --scale is given.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
QUESTIONS = [json.loads(line)["question"] for line in (ROOT / "eval" / "questions.jsonl").read_text().splitlines()]


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "mean": round(statistics.fmean(ordered), 1)}


def timed_ms(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return (time.perf_counter() - start) * 1000


def bench_build(index_dir: Path) -> dict:
    """A cold build into an empty folder, the idempotent second build, and --force over the embedding cache."""
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(index_dir)}
    cli = [sys.executable, "-m", "assistant.cli", "build"]
    figures = {}
    for name, extra in [("cold_build_s", []), ("up_to_date_build_s", []), ("forced_rebuild_from_cache_s", ["--force"])]:
        start = time.perf_counter()
        subprocess.run([*cli, *extra], env=env, check=True, capture_output=True)
        figures[name] = round(time.perf_counter() - start, 2)
    return figures


def bench_in_process(index_dir: Path) -> dict:
    from assistant.service import Assistant
    from assistant.settings import Settings

    start = time.perf_counter()
    assistant = Assistant.open(Settings(index_dir=index_dir))
    assistant.ask(QUESTIONS[0])
    first_answer_s = time.perf_counter() - start
    start = time.perf_counter()
    assistant.answerer.warm()  # as the server does in the background at start
    warm_up_s = time.perf_counter() - start
    search = [timed_ms(assistant.search, q, k=10) for q in QUESTIONS]
    ask = [timed_ms(assistant.ask, q) for q in QUESTIONS]
    return {
        "open_and_first_answer_s": round(first_answer_s, 2),
        "sentence_warm_up_s": round(warm_up_s, 2),
        "search_ms": percentiles(search),
        "ask_ms": percentiles(ask),
        "questions": len(QUESTIONS),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


async def load_test(base: str, total: int, clients: int) -> dict:
    """`clients` concurrent clients ask `total` questions in all; bounded in count and time."""
    latencies: list[float] = []
    errors: list[str] = []
    queue: asyncio.Queue[str] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(QUESTIONS[i % len(QUESTIONS)])

    async def client(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            question = queue.get_nowait()
            start = time.perf_counter()
            try:
                response = await http.post(f"{base}/api/ask", json={"question": question})
                if response.status_code != 200:
                    errors.append(f"{response.status_code}: {response.text[:100]}")
            except httpx.HTTPError as err:
                errors.append(repr(err))
            latencies.append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    async with httpx.AsyncClient(timeout=120) as http:
        await asyncio.wait_for(asyncio.gather(*(client(http) for _ in range(clients))), timeout=1800)
    elapsed = time.perf_counter() - start
    return {
        "questions": total,
        "clients": clients,
        "errors": len(errors),
        "first_errors": errors[:3],
        "throughput_qps": round(total / elapsed, 1),
        "latency_ms": percentiles(latencies),
    }


def bench_http(index_dir: Path, total: int, clients: int) -> dict:
    port = free_port()
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(index_dir), "ASSISTANT_PORT": str(port)}
    base = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        first_answer_s = wait_for_first_answer(base, start)
        sequential = []
        with httpx.Client(timeout=60) as http:
            for question in QUESTIONS:
                sequential.append(timed_ms(http.post, f"{base}/api/ask", json={"question": question}))
        load = asyncio.run(load_test(base, total, clients))
        return {
            "cold_start_to_first_answer_s": round(first_answer_s, 2),
            "ask_over_http_ms": percentiles(sequential),
            "load_test": load,
            "server_peak_rss_mb": peak_rss_mb(server.pid),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_for_first_answer(base: str, start: float, limit_s: float = 120) -> float:
    while time.perf_counter() - start < limit_s:
        try:
            response = httpx.post(f"{base}/api/ask", json={"question": QUESTIONS[0]}, timeout=30)
            if response.status_code == 200:
                return time.perf_counter() - start
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"the server gave no answer within {limit_s} s")


def bench_embedding(batch_size: int = 64, passages: int = 2048) -> dict:
    """Passages per second through the embedding model, on the GPU when there is one."""
    import torch

    from assistant.corpus import load_corpus
    from assistant.embeddings import Embedder
    from assistant.settings import Settings

    texts = [p.text for p in load_corpus(Settings().corpus_dirs).passages]
    texts = (texts * (passages // len(texts) + 1))[:passages]
    embedder = Embedder(Settings().model)
    embedder.encode(texts[:batch_size], batch_size=batch_size)  # load and warm up
    start = time.perf_counter()
    embedder.encode(texts, batch_size=batch_size)
    elapsed = time.perf_counter() - start
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return {"device": device, "passages": passages, "passages_per_s": round(passages / elapsed, 1)}


def git_commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return result.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["build", "process", "http", "embed", "scale"], action="append")
    parser.add_argument("--load-questions", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--scale", action="store_true", help="also run bench/scale.py (100k and 1M passages)")
    args = parser.parse_args()
    parts = set(args.only or ["build", "process", "http", "embed"] + (["scale"] if args.scale else []))
    figures: dict = {"date": date.today().isoformat(), "commit": git_commit(), "machine": machine()}
    work = Path(tempfile.mkdtemp(prefix="assistant-bench-"))
    index_dir = work / "index"
    try:
        if "build" not in parts:  # the other parts read an index: use the one `assistant build` made
            shutil.copytree(ROOT / "index", index_dir)
        for name, run in [
            ("build", lambda: bench_build(index_dir)),
            ("process", lambda: bench_in_process(index_dir)),
            ("http", lambda: bench_http(index_dir, args.load_questions, args.clients)),
            ("embed", bench_embedding),
            ("scale", run_scale),
        ]:
            if name in parts:
                print(f"-- {name}", flush=True)
                figures[name] = run()
                print(json.dumps(figures[name], indent=2), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"benchmark-{figures['date']}-{figures['commit']}.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    (RESULTS / "latest.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {out}")


def run_scale() -> dict:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "scale.py")], capture_output=True, text=True)
    print(result.stdout[-4000:], result.stderr[-2000:])
    latest = sorted((ROOT / "bench" / "results").glob("scale-*.json"))
    return json.loads(latest[-1].read_text()) if latest else {"error": result.stderr[-500:]}


def machine() -> dict:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}


if __name__ == "__main__":
    main()
