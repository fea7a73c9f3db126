"""Shared fixtures: the real corpus, a real index built once per test session in a temp folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from assistant.corpus import Corpus, load_corpus
from assistant.settings import PROJECT_ROOT, Settings

CORPUS_DIR = PROJECT_ROOT / "corpus"

# Property and schema fuzzing run derandomized by default, so that CI is reproducible: the same code gets the
# same cases. `make fuzz` (HYPOTHESIS_PROFILE=fuzz) explores new random cases on every run.
hypothesis_settings.register_profile("ci", derandomize=True)
hypothesis_settings.register_profile("fuzz", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory: pytest.TempPathFactory):
    """ONNX exports of the model go to a folder of the test session, not the user's ~/.cache (servers started by
    tests inherit the variable)."""
    folder = tmp_path_factory.mktemp("onnx")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ASSISTANT_ONNX_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return load_corpus(CORPUS_DIR)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings over the bundled corpus with a real index built into a temp folder (once per session)."""
    from assistant.index import build_index

    index_dir = seeded(tmp_path_factory.mktemp("index"), PROJECT_ROOT / "index")
    settings = Settings(corpus_dir=CORPUS_DIR, index_dir=index_dir)
    build_index(load_corpus(CORPUS_DIR), settings, progress=False)
    return settings


def seeded(index_dir: Path, built: Path) -> Path:
    """A test's index folder, starting as a copy of an index `make` has built (`built`), when there is one: the test's
    build checks the copy against its corpus and model as any build does: an up-to-date copy is used as it is, and
    one of another corpus or model only lends the vectors whose texts and model are the same (the embedding cache)."""
    if (built / "manifest.json").exists():
        shutil.copytree(built, index_dir, dirs_exist_ok=True)
    return index_dir


@pytest.fixture(scope="session")
def assistant(settings: Settings):
    """The assembled pipeline (real model, real FAISS, real BM25), loaded once per session."""
    from assistant.service import Assistant

    return Assistant.open(settings)


@pytest.fixture(scope="session")
def live_server(settings: Settings, tmp_path_factory: pytest.TempPathFactory):
    """One real `assistant serve` subprocess on 127.0.0.1 over the session's index, shared by API and browser tests."""
    from tests.live_server import run_live_server

    with run_live_server(settings, tmp_path_factory.mktemp("server") / "server.log") as server:
        yield server
