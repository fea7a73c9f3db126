"""Reliability: inference never blocks the event loop, a bounded load test, a damaged index refused at start with
the command that fixes it, a missing corpus file named by the build, a build killed while writing leaving a loadable
index, and an LLM key that shows in no response and no log."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from assistant.corpus import Corpus
from assistant.index import MANIFEST, STORE, VECTORS, index_problem, load_index
from assistant.retrieval import Retriever
from assistant.settings import PROJECT_ROOT, Settings
from tests.fake_llm import FakeLLM
from tests.live_server import free_port, run_live_server, settings_env

QUESTIONS = [
    json.loads(line)["question"] for line in (PROJECT_ROOT / "eval" / "questions.jsonl").read_text().splitlines()
]
EXIT_TIMEOUT_S = 90  # a command that refuses a damaged index exits in about a second; one that serves never does


def copy_index(settings: Settings, tmp_path: Path) -> Settings:
    """The session's index copied into tmp_path, and settings that point at the copy."""
    index_dir = tmp_path / "index"
    shutil.copytree(settings.index_dir, index_dir)
    return settings.model_copy(update={"index_dir": index_dir})


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "assistant.cli", *args]


# ---- the event loop stays free while the model works ----


def test_health_answers_while_asks_are_in_flight(live_server):
    """/healthz answers while 96 asks are being answered: inference runs in worker threads, not on the event loop."""

    async def scenario() -> tuple[httpx.Response, int, list[httpx.Response]]:
        async with httpx.AsyncClient(base_url=live_server.base_url, timeout=180) as http:
            asks = [asyncio.create_task(http.post("/api/ask", json={"question": q})) for q in QUESTIONS[:96]]
            await asyncio.sleep(0.2)  # the asks reach the server (loopback) and start; each takes far longer
            health = await http.get("/healthz")
            pending = sum(not ask.done() for ask in asks)
            return health, pending, await asyncio.gather(*asks)

    health, pending, answers = asyncio.run(scenario())
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert pending > 0, "every ask was answered before /healthz: the event loop waited for the model"
    assert [a.status_code for a in answers] == [200] * len(answers)


# ---- a bounded load test on loopback ----


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def load(base_url: str, questions: list[str], clients: int) -> tuple[list[float], list[str], float]:
    """`clients` concurrent clients share the questions; latencies (ms), errors and elapsed seconds."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for question in questions:
        queue.put_nowait(question)
    latencies: list[float] = []
    errors: list[str] = []

    async def client(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            question = queue.get_nowait()
            start = time.perf_counter()
            try:
                response = await http.post("/api/ask", json={"question": question})
                if response.status_code != 200 or "answer" not in response.json():
                    errors.append(f"{response.status_code} for {question!r}: {response.text[:200]}")
            except httpx.HTTPError as err:
                errors.append(f"{err!r} for {question!r}")
            latencies.append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=180, limits=httpx.Limits(max_connections=clients)) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return latencies, errors, time.perf_counter() - start


@pytest.mark.slow
def test_load_32_clients_320_questions_without_errors(live_server, record_property):
    """The figures are printed and recorded, never asserted: bench/benchmark.py measures speed (2,000 questions)."""
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(320)]
    latencies, errors, elapsed = asyncio.run(load(live_server.base_url, questions, clients=32))
    ordered = sorted(latencies)
    figures = {
        "questions": len(questions),
        "clients": 32,
        "errors": len(errors),
        "throughput_qps": round(len(questions) / elapsed, 1),
        "p50_ms": round(percentile(ordered, 0.50)),
        "p95_ms": round(percentile(ordered, 0.95)),
        "p99_ms": round(percentile(ordered, 0.99)),
        "mean_ms": round(statistics.fmean(ordered)),
    }
    for name, value in figures.items():
        record_property(name, value)
    print(f"\nload test on loopback: {json.dumps(figures)}")
    assert errors == [], errors[:5]
    assert len(latencies) == len(questions)


# ---- a damaged or mismatched index is refused at start, naming the problem and the fix ----


def truncate(path: Path) -> None:
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2)


def built_with_another_model(index_dir: Path) -> None:
    manifest = json.loads((index_dir / MANIFEST).read_text())
    manifest["model"] = "sentence-transformers/some-other-model"
    (index_dir / MANIFEST).write_text(json.dumps(manifest))


def manifest_without_checksums(index_dir: Path) -> None:
    manifest = json.loads((index_dir / MANIFEST).read_text())
    del manifest["files"]
    (index_dir / MANIFEST).write_text(json.dumps(manifest))
    truncate(index_dir / STORE)  # unchecked, this served a healthy /healthz while every ask failed


FAULTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated FAISS file": (lambda d: truncate(d / VECTORS), VECTORS),
    "truncated passage store": (lambda d: truncate(d / STORE), STORE),
    "manifest names another model": (built_with_another_model, "some-other-model"),
    "manifest without checksums": (manifest_without_checksums, "checksums"),
}
COMMANDS = {"serve": ["serve"], "search": ["search", "detention"], "ask": ["ask", "Who chaired the 590th meeting?"]}


@pytest.mark.parametrize("fault", FAULTS)
def test_damaged_index_is_refused_at_start_with_the_rebuild_command(settings, tmp_path, fault):
    damage, named = FAULTS[fault]
    damaged = copy_index(settings, tmp_path)
    damage(damaged.index_dir)
    env = settings_env(damaged, free_port())
    processes = {  # the three commands side by side: each only reads the index
        name: subprocess.Popen(cli(*args), env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for name, args in COMMANDS.items()
    }
    for name, process in processes.items():
        try:
            _, stderr = process.communicate(timeout=EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            pytest.fail(f"`assistant {name}` still ran after {EXIT_TIMEOUT_S} s over an index with a {fault}")
        message = stderr.decode()
        assert process.returncode == 2, f"`assistant {name}` accepted an index with a {fault}: {message[-2000:]}"
        assert len(message.strip().splitlines()) == 1, message[-2000:]  # one line, no log or traceback
        assert named in message, message
        assert "assistant build" in message, message
        assert "Traceback" not in message, message


# ---- leaving while the server still warms up ----

EXIT_DURING_WARM_UP = """
import time
from assistant.settings import Settings
from assistant.web import create_app
create_app(Settings())
time.sleep(1.5)  # the sentence warm-up (about 10 s) is still under way
"""


def test_a_process_that_exits_during_warm_up_ends_cleanly(settings):
    """The warm-up thread stops between batches at exit: ending inside the model used to abort the process."""
    env = settings_env(settings, free_port())
    done = subprocess.run(
        [sys.executable, "-c", EXIT_DURING_WARM_UP], env=env, cwd=PROJECT_ROOT, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert b"terminate called" not in done.stderr


# ---- a corpus file the manifest names but the folder lacks ----


def test_build_names_a_missing_corpus_file_keeps_the_index_and_indexes_the_others_when_allowed(
    settings, corpus: Corpus, tmp_path
):
    corpus_dir = tmp_path / "corpus"
    shutil.copytree(settings.corpus_dir, corpus_dir)
    missing = corpus.documents[-1]
    (corpus_dir / missing.source).unlink()
    target = copy_index(settings, tmp_path)  # its embedding cache spares the model most of the work
    before = (target.index_dir / STORE).read_text()
    env = settings_env(target.model_copy(update={"corpus_dir": corpus_dir}), free_port())
    refused = subprocess.run(cli("build"), env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert refused.returncode == 2, refused.stderr  # a user's error: one line, exit 2, like every CLI error
    assert missing.source in refused.stderr and "missing" in refused.stderr, refused.stderr
    assert "is kept as it was" in refused.stderr and "--allow-errors" in refused.stderr, refused.stderr
    assert (target.index_dir / STORE).read_text() == before
    allowed = cli("build", "--allow-errors")
    result = subprocess.run(allowed, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert missing.source in result.stderr and "missing" in result.stderr, result.stderr
    assert result.stdout.startswith("built"), result.stdout
    store = json.loads((target.index_dir / STORE).read_text())
    indexed = {p["doc_id"] for p in store["passages"]}
    assert indexed == {d.id for d in corpus.documents} - {missing.id}


# ---- `assistant build` killed while it writes the new index (tests/test_index.py kills one while embedding) ----


@pytest.mark.slow
def test_build_killed_while_writing_leaves_a_loadable_index(settings, corpus: Corpus, assistant, tmp_path):
    """SIGKILL as soon as the new index's staging folder appears beside the old one; the index folder still serves."""
    target = copy_index(settings, tmp_path)  # its embedding cache brings the build to writing within seconds
    staging = f".{target.index_dir.name}.building-*"
    log = tmp_path / "build.log"
    with log.open("w") as out:
        build = subprocess.Popen(
            cli("build", "--force"), env=settings_env(target, free_port()), cwd=PROJECT_ROOT, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 300
        while build.poll() is None and not any(tmp_path.glob(staging)) and time.monotonic() < deadline:
            time.sleep(0.001)  # the files take tens of milliseconds to write: poll tightly
        build.send_signal(signal.SIGKILL)
        build.wait(timeout=30)
    finally:
        if build.poll() is None:
            build.kill()
    assert build.returncode == -signal.SIGKILL, f"the build ended before it was killed:\n{log.read_text()[-2000:]}"
    embedder = assistant.retriever.embedder
    assert index_problem(target.index_dir, corpus, embedder) is None
    hits = Retriever(load_index(target, corpus, embedder), embedder).search("alternatives to detention", k=3)
    assert len(hits) == 3


# ---- with an LLM endpoint configured, its key shows nowhere ----

LLM_KEY = "sk-secret-reliability-4d1e8b-never-show-me"


@pytest.fixture(scope="module")
def fake_llm():
    server = FakeLLM(delay=0.1).start()
    yield server
    server.stop()


@pytest.mark.parametrize("behaviour", ["good", "error"])
def test_llm_key_never_in_responses_or_server_logs(settings, fake_llm, tmp_path, behaviour):
    """A real server with the key in its environment: answers, fallbacks, health and logs never show it."""
    configured = settings.model_copy(
        update={"llm_base_url": fake_llm.base_url, "llm_model": behaviour, "llm_api_key": LLM_KEY, "llm_timeout": 30}
    )
    log = tmp_path / "server.log"
    with run_live_server(configured, log) as server, httpx.Client(base_url=server.base_url, timeout=120) as http:
        bodies = [
            http.post("/api/ask", json={"question": q}).text
            for q in ("What did Mr. Flynn say about alternatives to detention?", "Who won the 1998 World Cup?")
        ]
        bodies += [http.get(path).text for path in ("/healthz", "/openapi.json", "/")]
        flynn = {"question": "What did Mr. Flynn say about alternatives to detention?"}
        bodies.append(http.post("/", data=flynn, follow_redirects=True).text)  # the page the form redirects to
    sent = [r for r in fake_llm.requests if r["body"].get("model") == behaviour]
    assert sent and sent[-1]["headers"]["Authorization"] == f"Bearer {LLM_KEY}"  # the key was in use
    assert json.loads(bodies[0])["mode"] == ("generative" if behaviour == "good" else "extractive")
    for body in bodies:
        assert LLM_KEY not in body
    assert LLM_KEY not in log.read_text(errors="replace")
