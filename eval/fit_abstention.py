"""Fit the abstention model (assistant/abstention.json) on the eval set, offline; prints precision and recall.

    .venv/bin/python eval/fit_abstention.py [--index DIR]

The rules (names and references the corpus never mentions, speakers who never spoke) abstain first;
this model decides the rest from a few evidence features (answers.Evidence). Its negatives are the
eval set's unanswerable questions plus the off-topic questions below, which users also ask. The
threshold keeps false abstentions on the eval set within FALSE_ABSTENTION_BUDGET.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from assistant.answers import ABSTENTION_MODEL
from sklearn.linear_model import LogisticRegression

from assistant.evaluation import load_questions
from assistant.service import Assistant
from assistant.settings import PROJECT_ROOT, Settings

FEATURES = ["best", "coverage", "unknown"]
FALSE_ABSTENTION_BUDGET = 0.01  # share of answerable questions the soft model may refuse (2 of 283)
OFF_TOPIC = [
    "How do I bake sourdough bread?",
    "What is the boiling point of water at sea level?",
    "Which programming language is best for beginners?",
    "How many legs does a spider have?",
    "How do I fix a flat bicycle tyre?",
    "What time does the supermarket close on Sundays?",
    "Who wrote the novel about a white whale?",
    "What is the speed of light?",
    "How tall is the highest mountain on earth?",
    "What is a good name for a pet cat?",
    "What is the square root of 144?",
    "Which planet is closest to the sun?",
    "What are the rules of chess?",
    "How long should I boil an egg?",
    "What will the weather be like tomorrow?",
    "How do I reset my email password?",
    "What is the best way to learn to play the guitar?",
    "How much does a new car cost?",
]


def evidence_rows(assistant: Assistant, questions: list[tuple[str, list[dict], bool]]):
    rows = []
    for text, history, answerable in questions:
        draft = assistant.answerer.draft(text, history or None)
        if draft.judged:  # rules, headers and follow-ups are decided without the model
            rows.append(([getattr(draft.evidence, name) for name in FEATURES], answerable, text))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=None, help="index folder (default: settings)")
    parser.add_argument(
        "--set",
        dest="sets",
        type=Path,
        action="append",
        help="question sets to fit on (default: eval/questions.jsonl); never a set kept blind for reporting",
    )
    args = parser.parse_args()
    settings = Settings(index_dir=args.index) if args.index else Settings()
    assistant = Assistant.open(settings)
    sets = args.sets or [PROJECT_ROOT / "eval/questions.jsonl"]
    eval_set = [(q.question, q.history, q.answerable) for path in sets for q in load_questions(path)]
    rows = evidence_rows(assistant, eval_set)
    extra = evidence_rows(assistant, [(q, [], False) for q in OFF_TOPIC])
    x = np.array([r[0] for r in rows + extra])
    y = np.array([r[1] for r in rows + extra], dtype=int)
    model = LogisticRegression(class_weight="balanced", max_iter=1000).fit(x, y)
    p_eval = model.predict_proba(np.array([r[0] for r in rows]))[:, 1]
    answerable = np.array([r[1] for r in rows])
    budget = int(FALSE_ABSTENTION_BUDGET * sum(q[2] for q in eval_set))
    lowest = np.sort(p_eval[answerable])
    threshold = float((lowest[budget - 1] + lowest[budget]) / 2) if budget else float(lowest[0]) / 2  # a margin
    p_extra = model.predict_proba(np.array([r[0] for r in extra]))[:, 1] if extra else np.array([])
    ABSTENTION_MODEL.write_text(
        json.dumps(
            {
                "features": FEATURES,
                "coefficients": [round(float(c), 4) for c in model.coef_[0]],
                "intercept": round(float(model.intercept_[0]), 4),
                "threshold": round(threshold, 4),
                "fitted_on": f"{' + '.join(p.name for p in sets)} ({len(rows)} questions past the rules) "
                f"+ {len(extra)} off-topic",
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"threshold {threshold:.3f}; coefficients {dict(zip(FEATURES, model.coef_[0].round(3), strict=True))}")
    print(
        f"eval: abstains on {int((p_eval[~answerable] < threshold).sum())}/{int((~answerable).sum())} unanswerable "
        f"past the rules, {int((p_eval[answerable] < threshold).sum())} answerable"
    )
    print(f"off-topic: abstains on {int((p_extra < threshold).sum())}/{len(extra)}")
    print("off-topic p:", " ".join(f"{p:.2f}" for p in sorted(p_extra)))
    print("lowest answerable p:", " ".join(f"{p:.2f}" for p in sorted(p_eval[answerable])[:6]))
    print("unanswerable p:", " ".join(f"{p:.2f}" for p in sorted(p_eval[~answerable])))
    for (_features, ok, text), p in zip(rows, p_eval, strict=True):
        if (p < threshold) == ok:
            print(f"  {'refused' if ok else 'answered'}: p={p:.2f} {text}")


if __name__ == "__main__":
    main()
