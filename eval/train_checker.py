"""Fit the answer checker (assistant/answering/checker.py): one model per cross-validation fold (`make checker`).

    ASSISTANT_CORPUS_DIR=corpus:../shared/realworld ASSISTANT_INDEX_DIR=index-eval \\
        .venv/bin/python eval/train_checker.py          # about 25 minutes on two CPU cores

Every question is read, searched and gathered as in eval/crossval.py; each of its parts gives one example, the
question with the part's best evidence sentence, labelled by whether the records answer the question. The question
sets are dealt into FOLDS folds; each fold's checker is fitted on the other folds' sets, and eval/crossval.py scores a
set's questions with the checker that never saw it, so the judge's cross-validated figures stay honest. `assistant
ask` averages the fold checkers: a new question is new to each of them, as a set's questions were to its fold's. Only
the fitted weights are written (checker.stored: int8 changes from the bundled weights, fp16 for the rest).
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from crossval import collect, default_sets  # noqa: E402

from assistant.answering.checker import (  # noqa: E402
    MODEL_DIR,
    Checker,
    base_model,
    encode,
    fitted_names,
    pairs,
    stored,
)
from assistant.answering.judge import Judge  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402

FOLDS = 3
EPOCHS = 3
BATCH = 16
LEARNING_RATE = 5e-5
WARMUP = 0.1  # share of the steps over which the learning rate rises, before it falls linearly to 0
SEED = 0


def examples(rows) -> list[tuple[str, str, str, float]]:
    """(set, question, best sentence, label) for each part of each question."""
    return [
        (row.set_name, question, sentence, float(row.answerable))
        for row in rows
        for question, sentence in pairs(row.draft.resolved, row.draft.evidence)
    ]


def fit(train: list[tuple[str, str, str, float]], seed: int):
    import torch

    torch.manual_seed(seed)
    model, tokenizer = base_model()
    names = set(fitted_names(model))
    for name, parameter in model.named_parameters():
        parameter.requires_grad = name in names
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LEARNING_RATE)
    steps = EPOCHS * -(-len(train) // BATCH)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / (WARMUP * steps)) * max(0.0, 1 - s / steps)
    )
    shuffle = random.Random(seed)
    model.train()
    for _ in range(EPOCHS):
        order = train[:]
        shuffle.shuffle(order)
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            logits = model(**encode(tokenizer, [(q, s) for _, q, s, _ in batch])).logits.squeeze(-1)
            labels = torch.tensor([y for *_, y in batch])
            torch.nn.functional.binary_cross_entropy_with_logits(logits, labels).backward()
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
    model.eval()
    return model, tokenizer


def scores(model, tokenizer, pairs: list[tuple[str, str]]) -> list[float]:
    import torch

    with torch.inference_mode():
        return [
            x
            for start in range(0, len(pairs), 64)
            for x in model(**encode(tokenizer, pairs[start : start + 64])).logits.squeeze(-1).tolist()
        ]


def save(model, name: str, folder: Path = MODEL_DIR) -> None:
    """The fitted weights alone, those of MiniLM's matrices as their change from the bundled ones (checker.stored)."""
    from safetensors.torch import save_file

    state = model.state_dict()
    base = base_model()[0].state_dict()
    fitted = stored({k: state[k] for k in fitted_names(model)}, base)
    save_file(fitted, str(folder / f"{name}.safetensors"))


def auc(scores: list[float], labels: list[float]) -> float:
    y = np.array(labels, bool)
    ranks = np.argsort(np.argsort(scores)) + 1.0  # logits do not tie
    return float((ranks[y].sum() - y.sum() * (y.sum() + 1) / 2) / (y.sum() * (~y).sum()))


def main() -> None:
    started = time.time()
    assistant = Assistant.open(Settings(), judge=Judge.neutral(), checker=Checker.off())
    data = examples(collect(assistant, default_sets()))
    sets = sorted({s for s, *_ in data} - {"off-topic"})
    folds = {f"fold-{k}": sets[k::FOLDS] for k in range(FOLDS)}
    MODEL_DIR.mkdir(exist_ok=True)
    held_scores, held_labels = [], []
    for name, held in folds.items():
        model, tokenizer = fit([e for e in data if e[0] not in held], SEED)
        save(model, name)
        test = [e for e in data if e[0] in held]
        held_scores += scores(model, tokenizer, [(q, s) for _, q, s, _ in test])
        held_labels += [y for *_, y in test]
        print(f"{name}: held out {len(held)} sets, {len(test)} parts, {time.time() - started:.0f} s", flush=True)
    (MODEL_DIR / "folds.json").write_text(json.dumps(folds, indent=1) + "\n", encoding="utf-8")
    print(f"out-of-fold AUC (parts, alone): {auc(held_scores, held_labels):.4f}; {time.time() - started:.0f} s in all")


if __name__ == "__main__":
    main()
