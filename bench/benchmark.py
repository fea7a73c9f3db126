"""Benchmark: prints and saves the figures the README quotes. Not a test: nothing here fails on a slow machine.

    python bench/benchmark.py                 # everything on this machine (a few minutes)
    python bench/benchmark.py --json          # the headline figures as one JSON object (issue 16's keys)
    python bench/benchmark.py --only embed    # embedding throughput only (run it on a GPU machine too)
    python bench/benchmark.py --only windows  # windows per passage: whole only / 64 / 128 pieces, recall and build time
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
# ../shared/realworld beside the checkout; BENCH_REALWORLD for a checkout elsewhere (a git worktree)
REALWORLD = Path(os.environ.get("BENCH_REALWORLD") or ROOT.parent / "shared" / "realworld")
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
    """Warm, in one process: the question embedding alone (the configured backend against sentence-transformers
    fp32 PyTorch, alternating question by question so that both see the same load), search, and ask."""
    from assistant.service import Assistant
    from assistant.settings import Settings

    start = time.perf_counter()
    assistant = Assistant.open(Settings(index_dir=index_dir))
    assistant.ask(QUESTIONS[0])
    first_answer_s = time.perf_counter() - start
    baseline = baseline_model(threads=1)  # one thread, as the server's query path (Embedder.serve_queries)
    embedder = assistant.retriever.embedder
    encode, encode_baseline = [], []
    for question in QUESTIONS:
        encode.append(timed_ms(embedder.encode_batch, [question], 1, False))  # past the cache of recent queries
        encode_baseline.append(timed_ms(baseline.encode, [question], normalize_embeddings=True))
    embedder.recent.clear()  # every search and every ask embeds its question afresh
    search = [timed_ms(assistant.search, q, k=10) for q in QUESTIONS]
    embedder.recent.clear()
    ask = [timed_ms(assistant.ask, q) for q in QUESTIONS]
    return {
        "backend": embedder.backend,
        "open_and_first_answer_s": round(first_answer_s, 2),
        "encode_ms": percentiles(encode),
        "encode_baseline_ms": percentiles(encode_baseline),
        "search_ms": percentiles(search),
        "ask_ms": percentiles(ask),
        "questions": len(QUESTIONS),
    }


def baseline_model(threads: int | None = None):
    """sentence-transformers fp32 on PyTorch, the CPU: the stack before issue 16, measured in the same run."""
    import torch
    from sentence_transformers import SentenceTransformer

    from assistant.embeddings import model_path
    from assistant.settings import Settings

    if threads:
        torch.set_num_threads(threads)
    return SentenceTransformer(model_path(Settings().model), device="cpu")


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
        sequential = []
        with httpx.Client(timeout=60) as http:
            first_answer_s, first_ms = wait_for_first_answer(http, base, start)
            first20 = [first_ms] + [
                timed_ms(http.post, f"{base}/api/ask", json={"question": q}) for q in QUESTIONS[1:20]
            ]
            for question in QUESTIONS:
                sequential.append(timed_ms(http.post, f"{base}/api/ask", json={"question": question}))
        load = asyncio.run(load_test(base, total, clients)) if total else None
        return {
            "cold_start_to_first_answer_s": round(first_answer_s, 2),
            "first20_ask_ms": percentiles(first20),
            "ask_over_http_ms": percentiles(sequential),
            "load_test": load,
            "server_peak_rss_mb": peak_rss_mb(server.pid),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_for_first_answer(http: httpx.Client, base: str, start: float, limit_s: float = 120) -> tuple[float, float]:
    """Seconds from process start to the first answer, and that answer's own request time in ms (the client is
    made beforehand, as for the asks that follow: making one costs the client 10-30 ms, not the server)."""
    while time.perf_counter() - start < limit_s:
        try:
            asked = time.perf_counter()
            response = http.post(f"{base}/api/ask", json={"question": QUESTIONS[0]}, timeout=30)
            if response.status_code == 200:
                return time.perf_counter() - start, (time.perf_counter() - asked) * 1000
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"the server gave no answer within {limit_s} s")


def bench_embedding(passages: int = 256, batch_size: int = 32) -> dict:
    """Passages per second through the configured build runtime (Embedder.bulk_model: bf16 on a CPU with AMX, the GPU
    when torch sees one) and through sentence-transformers fp32 on the CPU, the same passages in the same run."""
    from assistant.corpus import load_corpus
    from assistant.embeddings import Embedder
    from assistant.settings import Settings

    settings = Settings()
    # distinct texts: repeats would be embedded once by Embedder and every time by the baseline
    texts = list(dict.fromkeys(p.text for p in load_corpus(settings.corpus_dirs).passages))[:passages]
    embedder = Embedder.from_settings(settings)
    embedder.encode_corpus(texts[:batch_size], batch_size=batch_size)  # load
    first, steady = passes_per_s(lambda: embedder.encode_corpus(texts, batch_size=batch_size), len(texts))
    figures = {"backend": embedder.backend, "runtime": embedder.bulk_model.runtime, "passages": len(texts)}
    figures |= {"device": device_name(embedder), "passages_per_s": steady, "first_pass_passages_per_s": first}
    if embedder.bulk_model.device == "cpu":
        baseline = baseline_model(threads=os.cpu_count())  # as the backend: a part run before may have set one
        ordered = sorted(texts, key=len)  # as Embedder.encode batches them: less padding
        baseline.encode(ordered[:batch_size], batch_size=batch_size)  # load
        first, steady = passes_per_s(
            lambda: baseline.encode(ordered, batch_size=batch_size, normalize_embeddings=True), len(texts)
        )
        figures |= {"baseline_passages_per_s": steady, "baseline_first_pass_passages_per_s": first}
    return figures


def passes_per_s(embed_all, count: int) -> tuple[float, float]:
    """Texts per second on a first pass and on a second: the first pays for warming up (kernels made per input
    shape, buffers sized), which a build of thousands of passages spreads thin; the second is that build's rate."""
    rates = []
    for _ in range(2):
        start = time.perf_counter()
        embed_all()
        rates.append(round(count / (time.perf_counter() - start), 1))
    return rates[0], rates[1]


def device_name(embedder) -> str:
    if embedder.bulk_model.device == "cuda":
        import torch

        return torch.cuda.get_device_name(0)
    return "cpu"


def bench_windows() -> dict:
    """Windows per passage: whole passages only, or with short windows of 64 or of 128 word pieces beside them.
    Each builds corpus/ from empty (build time) and is searched on every eval set (bench/backends.py)."""
    from backends import SETS, measure

    rows = {}
    for short in (0, 64, 128):
        with tempfile.TemporaryDirectory(prefix="assistant-windows-") as work:
            rows[f"short_{short}"] = measure({"short_window": short}, Path(work) / "index")
    return {"sets": [p.stem for p in SETS], "variants": rows}


def bench_corpus_build() -> dict:
    """The five records plus ../shared/realworld, built from an empty index with the configured backend.

    Until ASSISTANT_CORPUS_DIR takes several folders, the two are merged into one temporary folder (copies and
    one manifest), made here and removed after."""
    if not REALWORLD.is_dir():
        return {"error": f"{REALWORLD} is missing"}
    with tempfile.TemporaryDirectory(prefix="assistant-corpus-") as work:
        corpus_dir, index_dir = Path(work) / "corpus", Path(work) / "index"
        shutil.copytree(ROOT / "corpus", corpus_dir)
        manifest = json.loads((corpus_dir / "manifest.json").read_text())
        for entry in json.loads((REALWORLD / "manifest.json").read_text())["documents"]:
            shutil.copy(REALWORLD / entry["file"], corpus_dir / entry["file"])
            manifest["documents"].append(entry)
        (corpus_dir / "manifest.json").write_text(json.dumps(manifest))
        env = {**os.environ, "ASSISTANT_CORPUS_DIR": str(corpus_dir), "ASSISTANT_INDEX_DIR": str(index_dir)}
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "assistant.cli", "build"], env=env, check=True, capture_output=True)
        build_s = time.perf_counter() - start
        built = json.loads((index_dir / "manifest.json").read_text())
    return {
        "build_s": round(build_s, 1),
        "backend": built["backend"],
        "passages": built["passages"],
        "windows": built["vectors"],
        "sentences": built["sentences"],
    }


def headline(figures: dict) -> dict:
    """Issue 16's keys, from the parts that ran."""
    process, http, embed = figures.get("process", {}), figures.get("http", {}), figures.get("embed", {})
    corpus_build = figures.get("corpus_build", {})
    pick = {
        "backend": process.get("backend") or embed.get("backend"),
        "encode_p50_ms": process.get("encode_ms", {}).get("p50"),
        "encode_baseline_p50_ms": process.get("encode_baseline_ms", {}).get("p50"),
        "search_p50_ms": process.get("search_ms", {}).get("p50"),
        "ask_p50_ms": process.get("ask_ms", {}).get("p50"),
        "ask_p95_ms": process.get("ask_ms", {}).get("p95"),
        "first20_ask_p95_ms": http.get("first20_ask_ms", {}).get("p95"),
        "cold_start_s": http.get("cold_start_to_first_answer_s"),
        "embed_passages_per_s": embed.get("passages_per_s"),
        "embed_baseline_passages_per_s": embed.get("baseline_passages_per_s"),
        "build_s": corpus_build.get("build_s"),
    }
    return {key: value for key, value in pick.items() if value is not None}


def git_commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return result.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=[name for name, _ in PARTS], action="append")
    parser.add_argument(
        "--load-questions", type=int, help="questions of the load test (2000; 0 skips it, as --json does)"
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--embed-passages", type=int, default=256, help="passages embedded by --only embed")
    parser.add_argument("--scale", action="store_true", help="also run bench/scale.py (100k and 1M passages)")
    parser.add_argument("--json", action="store_true", help="print issue 16's headline figures as one JSON object")
    args = parser.parse_args()
    load_questions = args.load_questions if args.load_questions is not None else (0 if args.json else 2000)
    default = (
        ["build", "process", "http", "embed"]
        + (["corpus_build"] if args.json else [])
        + (["scale"] if args.scale else [])
    )
    parts = set(args.only or default)
    figures: dict = {"date": date.today().isoformat(), "commit": git_commit(), "machine": machine()}
    work = Path(tempfile.mkdtemp(prefix="assistant-bench-"))
    index_dir = work / "index"
    log = sys.stderr if args.json else sys.stdout
    try:
        if "build" not in parts and parts & {"process", "http"}:  # they read an index: the one `assistant build` made
            shutil.copytree(ROOT / "index", index_dir)
        runs = {
            "build": lambda: bench_build(index_dir),
            "process": lambda: bench_in_process(index_dir),
            "http": lambda: bench_http(index_dir, load_questions, args.clients),
            "embed": lambda: bench_embedding(args.embed_passages),
            "corpus_build": bench_corpus_build,
            "windows": bench_windows,
            "scale": run_scale,
        }
        for name, _ in PARTS:
            if name in parts:
                print(f"-- {name}", file=log, flush=True)
                figures[name] = runs[name]()
                print(json.dumps(figures[name], indent=2), file=log, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures["headline"] = headline(figures)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"benchmark-{figures['date']}-{figures['commit']}.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    (RESULTS / "latest.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {out}", file=log)
    if args.json:
        print(json.dumps({**figures["headline"], "details": figures}))


PARTS = [
    ("build", "cold, up-to-date and forced builds of corpus/"),
    ("process", "encode, search and ask in one warm process"),
    ("http", "cold start, the first 20 asks and a load test over HTTP"),
    ("embed", "passages per second, the configured backend and the baseline"),
    ("corpus_build", "corpus/ plus ../shared/realworld from an empty index"),
    ("windows", "windows per passage ablation"),
    ("scale", "bench/scale.py"),
]


def run_scale() -> dict:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "scale.py")], capture_output=True, text=True)
    print(result.stdout[-4000:], result.stderr[-2000:])
    latest = sorted((ROOT / "bench" / "results").glob("scale-*.json"))
    return json.loads(latest[-1].read_text()) if latest else {"error": result.stderr[-500:]}


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load_average": os.getloadavg(),  # the machine is shared: latency depends on what else runs
    }


if __name__ == "__main__":
    main()
