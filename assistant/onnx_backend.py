"""The embedding model on ONNX Runtime: the bundled weights exported once, locally, fp32 or int8.

The export runs `torch.onnx.export` over the transformer of the model folder (no hub, no optimum) and,
for int8, `onnxruntime.quantization.quantize_dynamic` over that; both land in a cache folder named by
the model's fingerprint, so a changed model exports anew and an unchanged one never twice. Pooling
and normalisation are sentence-transformers' own: the mean of the token vectors under the attention
mask, then unit length. Measured on 128 passages, 2 cores: ONNX fp32 agrees with PyTorch to a cosine
of 0.99999; int8 drifts (lowest cosine 0.89), which is why its index is stamped apart (Embedder.precision).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np

from assistant.embeddings import CPU_BATCH_TOKENS, ModelNotAvailable

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17


def cache_root() -> Path:
    """Exports live under ASSISTANT_ONNX_CACHE, else $XDG_CACHE_HOME/assistant/onnx (~/.cache/assistant/onnx)."""
    if os.environ.get("ASSISTANT_ONNX_CACHE"):
        return Path(os.environ["ASSISTANT_ONNX_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "assistant" / "onnx"


def read_config(folder: Path) -> tuple[int, int]:
    """(vector size, word pieces read) from a sentence-transformers folder; only mean pooling is supported."""
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    if not pooling.get("pooling_mode_mean_tokens"):
        raise ModelNotAvailable(f"the ONNX backend pools by mean only, and {folder} pools otherwise; use torch")
    max_tokens = json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"]
    return int(pooling["word_embedding_dimension"]), int(max_tokens)


def exported(folder: Path, fingerprint: str, quantized: bool) -> Path:
    """The ONNX file for this model, exported (and quantised) now if the cache lacks it."""
    target = cache_root() / fingerprint
    raw, fp32, int8 = target / "model-raw.onnx", target / "model.onnx", target / "model-int8.onnx"
    if not raw.exists():
        write_atomically(raw, lambda path: export_fp32(folder, path))
    if not quantized and not fp32.exists():
        write_atomically(fp32, lambda path: fuse(raw, folder, path))
    if quantized and not int8.exists():
        write_atomically(int8, lambda path: quantize(raw, path))
    return int8 if quantized else fp32


def write_atomically(path: Path, write) -> None:
    """Write to a name of this process, then rename: two processes exporting at once each leave a whole file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        write(partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def export_fp32(folder: Path, path: Path) -> None:
    import torch
    from transformers import AutoModel

    class LastHiddenState(torch.nn.Module):
        """The transformer called by keyword: its positional arguments changed between transformers versions."""

        def __init__(self, transformer):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    # eager attention exports as plain MatMul/Softmax, the pattern ONNX Runtime fuses into one Attention op (fuse())
    module = LastHiddenState(AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval())
    example = torch.ones(2, 16, dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # tracer warnings about Python branches on shapes: the graph is checked by tests
        torch.onnx.export(
            module,
            (example, example, torch.zeros_like(example)),
            str(path),
            dynamo=False,  # the TorchScript exporter: the dynamo one needs onnxscript
            input_names=list(INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=OPSET,
        )


def fuse(raw: Path, folder: Path, path: Path) -> None:
    """ONNX Runtime's BERT fusions (embedding+LayerNorm, Attention, SkipLayerNorm, BiasGelu) for the CPU; a model
    whose graph does not match keeps the plain export. Vectors unchanged (lowest cosine 0.9999998)."""
    import shutil

    from onnxruntime.transformers.optimizer import optimize_model

    config = json.loads((folder / "config.json").read_text())
    try:
        fused = optimize_model(
            str(raw), model_type="bert", num_heads=config["num_attention_heads"], hidden_size=config["hidden_size"]
        )
        fused.save_model_to_file(str(path))
    except Exception:  # an architecture the fusions do not know: the plain graph still runs
        shutil.copy(raw, path)


def quantize(fp32: Path, path: Path) -> None:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # it suggests pre-processing on every call
    quantize_dynamic(str(fp32), str(path), weight_type=QuantType.QInt8, per_channel=True)


def check_folder(path: str) -> Path:
    """The model folder, if the ONNX backend can read it (checked before its fingerprint is asked for)."""
    folder = Path(path)
    if not (folder / "tokenizer.json").is_file():
        raise ValueError(
            f"the ONNX backend needs a local sentence-transformers folder with tokenizer.json, not {path!r}; "
            "use ASSISTANT_BACKEND=torch for this model"
        )
    return folder


class OnnxModel:
    """An ONNX Runtime session and the model folder's own tokenizer, speaking TorchModel's interface."""

    device = "cpu"
    batch_tokens = CPU_BATCH_TOKENS

    def __init__(self, path: str, fingerprint: str, quantized: bool, threads: int | None):
        from tokenizers import Tokenizer

        folder = check_folder(path)
        self.dim, self.max_tokens = read_config(folder)
        self.file = exported(folder, fingerprint, quantized)
        self.runtime = f"onnx {'int8' if quantized else 'fp32'} on cpu"
        self.counter = Tokenizer.from_file(str(folder / "tokenizer.json"))  # counts whole texts: no truncation
        self.counter.no_truncation()
        self.counter.no_padding()
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_tokens)
        self.tokenizer.enable_padding()
        self.set_threads(threads)

    def set_threads(self, threads: int | None) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # idle worker threads sleep rather than spin: on a shared 2-core machine spinning takes the core a query needs
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(self.file), options, providers=["CPUExecutionProvider"])

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self.counter.encode_batch_fast(texts, add_special_tokens=False)]

    def embed(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer.encode_batch_fast(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        (tokens,) = self.session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": 0 * ids})
        return mean_pooled_unit(tokens, mask)


def mean_pooled_unit(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' Pooling(mean) then Normalize: padding excluded, the count clamped as it does."""
    weights = mask[..., None].astype(np.float32)
    pooled = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    return (pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)
