"""Fit the answer judge with leave-one-set-out cross-validation, report the cross-validated figures, gate on them.

    .venv/bin/python eval/crossval.py                      # figures per set, each with a judge fitted on the others
    .venv/bin/python eval/crossval.py --write              # ... and save the judge fitted on all sets (judge.json)
    .venv/bin/python eval/crossval.py --gate eval/thresholds.json

Every question is read, searched and gathered once; then, for each question set, the judge (a logistic model over
judge.Features) is fitted on all the other sets, its threshold chosen there, and that set's questions are answered
and scored with it. The figures a set gets are therefore those of questions the judge never saw. The gate checks
the figures pooled over all sets this way, never figures on data a model was fitted to.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np

from assistant.answering.checker import Checker, fold_of, pairs
from assistant.answering.judge import FEATURE_NAMES, MODEL_FILE, Judge
from assistant.evaluation import (
    EvalQuestion,
    QuestionResult,
    answer_metrics,
    fmt_figure,
    git_commit,
    load_questions,
    score_answer,
)
from assistant.service import Assistant
from assistant.settings import PROJECT_ROOT, Settings

REFUSAL_LIMIT = 0.03  # answerable questions the threshold may refuse in training: the target is <= 0.05 on questions
# the judge never saw, and those run about 0.01 higher (eval/results/crossval-latest.md)
L2 = 1.0  # ridge penalty on standardised coefficients: few features, a few hundred questions
OFF_TOPIC = [  # questions users also ask, never about the records: negatives in every fit, scored in none
    "How do I bake sourdough bread?",
    "What is the boiling point of water at sea level?",
    "Which programming language is best for beginners?",
    "How many legs does a spider have?",
    "Who wrote the novel about a white whale?",
    "What is the speed of light?",
    "Which planet is closest to the sun?",
    "How long should I boil an egg?",
    "What will the weather be like tomorrow?",
    "How do I reset my email password?",
    "How much does a new car cost?",
    "Who won the football world cup in 2018?",
]


@dataclass
class Row:
    set_name: str
    question: EvalQuestion | None
    draft: object
    answerable: bool


def default_sets() -> list[Path]:
    sets = [PROJECT_ROOT / "eval" / "questions.jsonl", *sorted((PROJECT_ROOT / "eval").glob("heldout*.jsonl"))]
    realworld = PROJECT_ROOT / "eval" / "realworld.jsonl"
    return sets + ([realworld] if realworld.exists() else [])


def usable(question: EvalQuestion, corpus) -> bool:
    """A question whose gold passages this corpus holds (the realworld set needs ../shared/realworld)."""
    return all(any(p.document == d and p.paragraph == para for p in corpus.passages) for d, para in question.gold)


def collect(assistant: Assistant, sets: list[Path]) -> list[Row]:
    rows = []
    for path in sets:
        name = path.stem
        for q in load_questions(path):
            if not usable(q, assistant.corpus):
                continue
            draft = assistant.answerer.draft(q.question, [dict(t) for t in q.history] or None)
            rows.append(Row(name, q, draft, q.answerable))
    for text in OFF_TOPIC:
        rows.append(Row("off-topic", None, assistant.answerer.draft(text), False))
    return rows


def held_out_checks(rows: list[Row]) -> None:
    """Each question's checker logits from the fold checker that never saw its set (train_checker.py's folds), so that
    the judge is fitted and scored on the logits a new question gets, not on those of questions the checker learnt; a
    set no fold saw gets every fold's, averaged, as a new question in the app does."""
    by_checker: dict[tuple[str, ...] | None, list[Row]] = {}
    for row in rows:
        names = fold_of(row.set_name)
        by_checker.setdefault(tuple(names) if names else None, []).append(row)
    for names, group in by_checker.items():
        checker = Checker.load(list(names) if names else None)
        for row in group:
            draft = row.draft
            logits = checker.logits(pairs(draft.resolved, draft.evidence))
            draft.features = [replace(f, checker=x) for f, x in zip(draft.features, logits, strict=True)]


def matrix(rows: list[Row]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One line per part of a question: its features, the question's label, and the question's row number."""
    x, y, owner = [], [], []
    for i, row in enumerate(rows):
        for f in row.draft.features:
            x.append(f.vector())
            y.append(float(row.answerable))
            owner.append(i)
    return np.array(x, dtype=float), np.array(y), np.array(owner)


def fit_logistic(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Ridge logistic regression by Newton's method on standardised features."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], L2)
    penalty[0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(z @ w, -30, 30)))
        gradient = z.T @ (p - y) + penalty * w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[1:], float(w[0]), mean, scale


def question_probabilities(judge: Judge, rows: list[Row]) -> list[float]:
    """A question is answered when its best part is: the decision the answerer makes."""
    return [max((judge.probability(f) for f in r.draft.features), default=0.0) for r in rows]


def choose_threshold(probabilities: list[float], answerable: list[bool]) -> float:
    """The highest threshold that refuses at most REFUSAL_LIMIT of the answerable training questions: refusals are
    held to their target, and every unanswerable question below the threshold is an abstention gained."""
    positives = sum(answerable) or 1
    best = 0.05
    for t in np.linspace(0.05, 0.95, 91):
        refused = sum(p < t and a for p, a in zip(probabilities, answerable, strict=True)) / positives
        if refused <= REFUSAL_LIMIT:
            best = float(t)
    return best


def fit(rows: list[Row]) -> Judge:
    """A question is answered when its best part is, so an answerable question of several parts vouches for its best
    part only (the others may ask what the records do not give): after a first fit on every part, the judge is refitted
    with an answerable question's best part alone."""
    x, y, owner = matrix(rows)
    judge = logistic_judge(x, y)
    keep = best_parts(judge, x, y, owner)
    judge = logistic_judge(x[keep], y[keep])
    judge.threshold = choose_threshold(question_probabilities(judge, rows), [r.answerable for r in rows])
    return judge


def logistic_judge(x: np.ndarray, y: np.ndarray) -> Judge:
    coefficients, intercept, mean, scale = fit_logistic(x, y)
    return Judge(list(coefficients), intercept, 0.5, list(mean), list(scale))


def best_parts(judge: Judge, x: np.ndarray, y: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Every line of an unanswerable question; the most probable line of an answerable one."""
    z = judge.intercept + ((x - np.array(judge.mean)) / np.array(judge.scale)) @ np.array(judge.coefficients)
    best: dict[int, int] = {}
    for i, question in enumerate(owner):
        if question not in best or z[i] > z[best[question]]:
            best[question] = i
    return np.array([y[i] == 0 or best[owner[i]] == i for i in range(len(owner))])


def answer_all(assistant: Assistant, judge: Judge, rows: list[Row]) -> list[QuestionResult]:
    assistant.answerer.judge = judge
    results = []
    for row in rows:
        row.draft.probabilities = [judge.probability(f) for f in row.draft.features]
        started = time.perf_counter()
        answer = assistant.answerer.compose(row.draft)
        scored = score_answer(assistant.corpus, row.question, answer, time.perf_counter() - started)
        results.append(QuestionResult(row.question, row.draft.resolved, {}, scored))
    return results


def deciding_feature(judge: Judge, features) -> str:
    """The feature that pulled a question's probability down most: the 'check' that refused it."""
    x = [(v - m) / s for v, m, s in zip(features.vector(), judge.mean, judge.scale, strict=True)]
    pulls = [c * v for c, v in zip(judge.coefficients, x, strict=True)]
    return FEATURE_NAMES[int(np.argmin(pulls))]


def cross_validate(assistant: Assistant, rows: list[Row]) -> dict:
    sets = [s for s in dict.fromkeys(r.set_name for r in rows) if s != "off-topic"]
    report: dict = {"sets": {}, "checks": {}}
    pooled: list[QuestionResult] = []
    for held in sets:
        judge = fit([r for r in rows if r.set_name != held])
        test = [r for r in rows if r.set_name == held]
        results = answer_all(assistant, judge, test)
        pooled += results
        metrics = answer_metrics(results)
        metrics["threshold"] = judge.threshold
        report["sets"][held] = metrics
        checks: dict[str, dict[str, int]] = {}
        for row, result in zip(test, results, strict=True):
            if result.answer.abstained:
                best = max(range(len(row.draft.features)), key=lambda j: row.draft.probabilities[j], default=None)
                name = deciding_feature(judge, row.draft.features[best]) if best is not None else "no evidence"
                tally = checks.setdefault(name, {"unanswerable caught": 0, "answerable refused": 0})
                tally["answerable refused" if row.answerable else "unanswerable caught"] += 1
        report["checks"][held] = checks
        report["sets"][held]["misses"] = [r.question.id for r in results if r.failures()]
    report["pooled"] = answer_metrics(pooled)
    return report


FIGURES = [
    "citation_hit_rate",
    "facts_pass_rate",
    "quote_validity",
    "abstention_recall",
    "false_abstention_rate",
    "answer_words",
]


def markdown(report: dict, meta: dict) -> str:
    lines = [
        f"# Cross-validated answer figures ({meta['date']}, commit {meta['commit']})",
        "",
        "Each set is answered by a judge fitted on all the other sets (leave-one-set-out); pooled = all sets together.",
        "",
        "| set | n | " + " | ".join(FIGURES) + " | threshold |",
        "| --- | --- | " + " | ".join("---" for _ in FIGURES) + " | --- |",
    ]
    for name, m in [*report["sets"].items(), ("pooled", report["pooled"])]:
        cells = [fmt_figure(f, m.get(f)) for f in FIGURES]
        threshold = f"{m['threshold']:.2f}" if "threshold" in m else ""
        lines.append(f"| {name} | {m['n']} | " + " | ".join(cells) + f" | {threshold} |")
    lines += ["", "Abstentions by the feature that pulled the probability down most (the 'check' that decided):", ""]
    lines += ["| set | check | unanswerable caught | answerable refused |", "| --- | --- | --- | --- |"]
    for name, checks in report["checks"].items():
        for check, tally in sorted(checks.items()):
            lines.append(f"| {name} | {check} | {tally['unanswerable caught']} | {tally['answerable refused']} |")
    lines += [
        "",
        "Questions with a failure, per set: "
        + "; ".join(f"{name}: {', '.join(m['misses']) or 'none'}" for name, m in report["sets"].items()),
        "",
    ]
    return "\n".join(lines)


def check_gate(report: dict, thresholds: dict) -> list[str]:
    failures = []
    figures = report["pooled"]
    bounds = thresholds.get("crossval", {})
    for bound, limits in (("min", bounds.get("min", {})), ("max", bounds.get("max", {}))):
        for name, limit in limits.items():
            value = figures.get(name)
            if value is None:
                failures.append(f"cross-validated {name} was not measured")
                continue
            if (bound == "min" and value < limit) or (bound == "max" and value > limit):
                failures.append(
                    f"cross-validated {name} = {value:.4f} is {'below' if bound == 'min' else 'above'} "
                    f"the {bound}imum {limit:.4f}"
                )
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="sets", type=Path, action="append", help="question set (default: all in eval/)")
    parser.add_argument("--write", action="store_true", help="save the judge fitted on all sets to judge.json")
    parser.add_argument("--gate", type=Path, help="thresholds file: exit 1 when a pooled figure misses it")
    parser.add_argument("--results", type=Path, default=PROJECT_ROOT / "eval" / "results", help="summary folder")
    args = parser.parse_args()
    # each fold fits its own judge; the checker's logits come from held_out_checks, so the draft's own are not run
    assistant = Assistant.open(Settings(), judge=Judge.neutral(), checker=Checker.off())
    rows = collect(assistant, args.sets or default_sets())
    held_out_checks(rows)
    report = cross_validate(assistant, rows)
    meta = {"date": date.today().isoformat(), "commit": git_commit()}
    text = markdown(report, meta)
    print(text)
    if args.write:
        final = fit(rows)
        MODEL_FILE.write_text(
            json.dumps(
                {
                    "note": "Fitted by eval/crossval.py --write on every question set; see eval/results/crossval-latest.md.",
                    "features": FEATURE_NAMES,
                    "coefficients": [round(c, 5) for c in final.coefficients],
                    "intercept": round(final.intercept, 5),
                    "threshold": round(final.threshold, 3),
                    "mean": [round(v, 5) for v in final.mean],
                    "scale": [round(v, 5) for v in final.scale],
                },
                indent=1,
            )
            + "\n",
            encoding="utf-8",
        )
        args.results.mkdir(parents=True, exist_ok=True)
        (args.results / "crossval-latest.md").write_text(text, encoding="utf-8")
        print(f"wrote {MODEL_FILE} and {args.results / 'crossval-latest.md'}")
    if args.gate:
        failures = check_gate(report, json.loads(args.gate.read_text(encoding="utf-8")))
        for line in failures:
            print(f"gate: {line}", file=sys.stderr)
        print("crossval gate: " + ("FAILED" if failures else "passed"), file=sys.stderr)
        return 1 if failures else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
