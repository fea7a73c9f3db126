"""The eval runner: score retrieval and answers on the hand-written question set, and gate on thresholds.

One run asks every question once (`Assistant.ask` with its history) and searches it with every retriever
side by side, so the figures of one report always come from the same code, index and question set.
A retrieval hit is any gold (document, paragraph) pair among the results; retrieval figures count answerable
questions only. Figures are plain floats in [0, 1] keyed by name ("hybrid.recall@5", "citation_hit_rate"),
the names a thresholds file uses.
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from assistant.corpus import Corpus
from assistant.settings import PROJECT_ROOT

KINDS = ("fact", "speaker", "synthesis", "metadata", "followup", "unanswerable")
RETRIEVERS = ("hybrid", "dense", "bm25")
CUTOFFS = (1, 5, 10)
DEPTH = 10  # results per search: recall@10, MRR@10 and nDCG@10 look this deep
RETRIEVAL_METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
ANSWER_METRICS = (
    "citation_hit_rate",
    "facts_pass_rate",
    "facts_fraction",
    "quote_validity",
    "abstention_precision",
    "abstention_recall",
    "false_abstention_rate",
    "answer_words",
)
COUNT_FIGURES = frozenset({"answer_words"})  # not rates: printed whole
REQUIRED_FIELDS = {"id": str, "kind": str, "question": str, "gold": list, "facts": list}

Label = tuple[str, str]  # (document, paragraph): what a gold passage and a hit are matched on


class EvalError(ValueError):
    """A question set or thresholds file that cannot be used; the message names the file and line."""


# ---- the question set ----


@dataclass
class EvalQuestion:
    id: str
    kind: str
    question: str
    gold: list[Label]
    facts: list[str]
    history: list[dict] = field(default_factory=list)
    notes: str = ""

    @property
    def answerable(self) -> bool:
        return self.kind != "unanswerable"


def load_questions(path: Path) -> list[EvalQuestion]:
    """Read a question set (JSON lines); raises EvalError naming the line of any bad entry."""
    path = Path(path)
    if not path.is_file():
        raise EvalError(f"question set {path} does not exist; pass the JSON-lines file with --set")
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as err:
            raise EvalError(
                f"{where}: not valid JSON ({err.msg} at column {err.colno}); fix or remove the line"
            ) from None
        question = parse_question(entry, where)
        if question.id in seen:
            raise EvalError(f"{where}: duplicate id {question.id!r}; every question needs its own id")
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise EvalError(f"{path}: no questions found; expected one JSON object per line")
    return questions


def parse_question(entry: Any, where: str) -> EvalQuestion:
    if not isinstance(entry, dict):
        raise EvalError(f"{where}: expected a JSON object with fields {', '.join(REQUIRED_FIELDS)}")
    for name, kind in REQUIRED_FIELDS.items():
        if name not in entry:
            raise EvalError(f"{where}: missing field {name!r} (required: {', '.join(REQUIRED_FIELDS)})")
        if not isinstance(entry[name], kind):
            raise EvalError(f"{where}: field {name!r} must be a {kind.__name__}, not {type(entry[name]).__name__}")
    if entry["kind"] not in KINDS:
        raise EvalError(f"{where}: kind {entry['kind']!r} is not one of {', '.join(KINDS)}")
    gold = [parse_gold(item, where) for item in entry["gold"]]
    if (entry["kind"] == "unanswerable") != (not gold):
        raise EvalError(f"{where}: unanswerable questions need an empty 'gold', every other kind at least one passage")
    history = entry.get("history") or []
    if not isinstance(history, list) or not all(
        isinstance(h, dict) and isinstance(h.get("question"), str) for h in history
    ):
        raise EvalError(f"{where}: 'history' must be a list of objects with a 'question' string")
    if not all(isinstance(fact, str) and fact.strip() for fact in entry["facts"]):
        raise EvalError(f"{where}: 'facts' must be a list of non-empty strings")
    return EvalQuestion(
        entry["id"], entry["kind"], entry["question"], gold, entry["facts"], history, entry.get("notes") or ""
    )


def parse_gold(item: Any, where: str) -> Label:
    if not (
        isinstance(item, dict) and isinstance(item.get("document"), str) and isinstance(item.get("paragraph"), str)
    ):
        raise EvalError(f'{where}: each gold entry must be {{"document": str, "paragraph": str}}, not {item!r}')
    return item["document"], item["paragraph"]


def check_gold(corpus: Corpus, questions: list[EvalQuestion]) -> list[str]:
    """Problems with the set against this corpus: gold passages that do not exist, facts no gold passage contains."""
    problems = []
    for q in questions:
        texts = []
        for document, paragraph in q.gold:
            passage = find_passage(corpus, document, paragraph)
            if passage is None:
                what = "passage" if corpus.document(document) else "document"
                problems.append(f"{q.id}: gold {document}, {paragraph}: no such {what} in the corpus")
            else:
                texts.append(normalise(passage.text))
        for fact in q.facts:
            if texts and not any(normalise(fact) in text for text in texts):
                problems.append(f"{q.id}: fact {fact!r} is not in the text of any gold passage")
    return problems


def find_passage(corpus: Corpus, document: str, paragraph: str):
    return next((p for p in corpus.passages if p.document == document and p.paragraph == paragraph), None)


def normalise(text: str) -> str:
    """Case and whitespace do not count when looking for a fact."""
    return " ".join(text.casefold().split())


# ---- metrics on one ranking (pure functions: the tests check them on hand-made rankings) ----


def first_hit(ranked: list[Label], gold: Iterable[Label]) -> int | None:
    """1-based rank of the first gold passage, or None."""
    wanted = set(gold)
    return next((rank for rank, label in enumerate(ranked, start=1) if label in wanted), None)


def recall_at(rank: int | None, k: int) -> float:
    """1 when any gold passage is in the top k (the issue's 'hit'), else 0."""
    return float(rank is not None and rank <= k)


def reciprocal_rank(rank: int | None, k: int = DEPTH) -> float:
    return 1.0 / rank if rank is not None and rank <= k else 0.0


def ndcg_at(ranked: list[Label], gold: Iterable[Label], k: int = DEPTH) -> float:
    """Binary-relevance nDCG: every gold passage counts 1, once; ideal = all gold passages at the top."""
    wanted = set(gold)
    found: set[Label] = set()
    dcg = 0.0
    for rank, label in enumerate(ranked[:k], start=1):
        if label in wanted and label not in found:
            found.add(label)
            dcg += 1.0 / math.log2(rank + 1)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(wanted), k) + 1))
    return dcg / ideal if ideal else 0.0


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# ---- one question's outcome ----


@dataclass
class Retrieved:
    """One retriever's top results for one question."""

    labels: list[Label]
    names: list[str]  # passage.label of each result, for people
    seconds: float
    rank: int | None  # first gold hit
    ndcg: float

    def to_dict(self) -> dict:
        return {
            "rank": self.rank,
            "ndcg@10": round(self.ndcg, 4),
            "seconds": round(self.seconds, 4),
            "top": self.names[:5],
        }


@dataclass
class Answered:
    """What Assistant.ask gave for one question, scored."""

    text: str
    mode: str
    abstained: bool
    cited: list[Label]
    seconds: float
    citation_hit: bool | None  # None for unanswerable questions
    facts_found: list[str]
    facts_missing: list[str]
    quotes: int
    bad_quotes: list[str]  # labels of citations whose quote is not verbatim in the cited passage

    def to_dict(self) -> dict:
        data = asdict(self)
        data["cited"] = [f"{document}, {paragraph}" for document, paragraph in self.cited]
        data["seconds"] = round(self.seconds, 4)
        return data


@dataclass
class QuestionResult:
    question: EvalQuestion
    query: str  # what the retrievers were given: the question resolved from its history
    retrieved: dict[str, Retrieved]
    answer: Answered | None

    def failures(self) -> list[str]:
        """Short names of what went wrong: 'hybrid@5', 'citation', 'facts', 'quotes', 'abstained', 'answered'."""
        q, a = self.question, self.answer
        failed = [f"{mode}@5" for mode, r in self.retrieved.items() if q.answerable and not recall_at(r.rank, 5)]
        if a is None:
            return failed
        if q.answerable and a.abstained:
            failed.append("abstained")
        if not q.answerable and not a.abstained:
            failed.append("answered")
        if a.citation_hit is False:
            failed.append("citation")
        if a.facts_missing:
            failed.append("facts")
        if a.bad_quotes:
            failed.append("quotes")
        return failed

    def to_dict(self) -> dict:
        return {
            "id": self.question.id,
            "kind": self.question.kind,
            "question": self.question.question,
            "query": self.query,
            "gold": [f"{document}, {paragraph}" for document, paragraph in self.question.gold],
            "failures": self.failures(),
            "retrieval": {mode: r.to_dict() for mode, r in self.retrieved.items()},
            "answer": self.answer.to_dict() if self.answer else None,
        }


# ---- the report ----


@dataclass
class EvalReport:
    results: list[QuestionResult]
    retrievers: list[str]
    meta: dict = field(default_factory=dict)

    @property
    def answered(self) -> bool:
        return any(r.answer for r in self.results)

    def groups(self, answerable_only: bool) -> dict[str, list[QuestionResult]]:
        """'all' plus one group per kind present, in KINDS order."""
        chosen = [r for r in self.results if r.question.answerable or not answerable_only]
        groups = {"all": chosen}
        for kind in KINDS:
            if members := [r for r in chosen if r.question.kind == kind]:
                groups[kind] = members
        return groups

    def retrieval(self) -> dict[str, dict[str, dict[str, float | int | None]]]:
        """{retriever: {group: {metric: value, 'n': count}}} over answerable questions."""
        return {
            mode: {
                name: retrieval_metrics([r.retrieved[mode] for r in group]) for name, group in self.groups(True).items()
            }
            for mode in self.retrievers
        }

    def answers(self) -> dict[str, dict[str, float | int | None]]:
        """{group: {metric: value}}; abstention figures only in 'all'."""
        if not self.answered:
            return {}
        return {name: answer_metrics(group) for name, group in self.groups(False).items()}

    def latency(self) -> dict[str, dict[str, float | None]]:
        """Seconds per question, p50 and p95: 'ask' and 'search <retriever>'."""
        series = {f"search {mode}": [r.retrieved[mode].seconds for r in self.results] for mode in self.retrievers}
        if self.answered:
            series = {"ask": [r.answer.seconds for r in self.results if r.answer], **series}
        return {name: {"p50": percentile(values, 50), "p95": percentile(values, 95)} for name, values in series.items()}

    def figures(self) -> dict[str, float]:
        """The flat figures a thresholds file names: 'hybrid.recall@5', 'citation_hit_rate', ..."""
        figures: dict[str, float] = {}
        for mode, groups in self.retrieval().items():
            figures |= {f"{mode}.{metric}": groups["all"][metric] for metric in RETRIEVAL_METRICS}
        overall = self.answers().get("all", {})
        figures |= {metric: overall[metric] for metric in ANSWER_METRICS if overall.get(metric) is not None}
        return {name: value for name, value in figures.items() if value is not None}

    def misses(self) -> list[QuestionResult]:
        return [r for r in self.results if r.failures()]

    def to_dict(self) -> dict:
        return {
            "meta": self.meta,
            "figures": self.figures(),
            "retrieval": self.retrieval(),
            "answers": self.answers(),
            "latency": self.latency(),
            "questions": [r.to_dict() for r in self.results],
        }

    def table(self) -> str:
        return render_table(self)

    def markdown(self) -> str:
        return render_markdown(self)


def retrieval_metrics(retrieved: list[Retrieved]) -> dict[str, float | int | None]:
    metrics: dict[str, float | int | None] = {"n": len(retrieved)}
    for k in CUTOFFS:
        metrics[f"recall@{k}"] = mean([recall_at(r.rank, k) for r in retrieved])
    metrics["mrr@10"] = mean([reciprocal_rank(r.rank) for r in retrieved])
    metrics["ndcg@10"] = mean([r.ndcg for r in retrieved])
    return metrics


def answer_metrics(results: list[QuestionResult]) -> dict[str, float | int | None]:
    """Citation and facts figures over answerable questions; quotes over every citation; abstention: positive =
    abstained, so precision = abstentions that were right, recall = unanswerable questions that abstained;
    answer_words = the median length of the answers given."""
    answerable = [r.answer for r in results if r.answer and r.question.answerable]
    unanswerable = [r.answer for r in results if r.answer and not r.question.answerable]
    every = answerable + unanswerable
    facts_total = sum(len(a.facts_found) + len(a.facts_missing) for a in answerable)
    quotes = sum(a.quotes for a in every)
    abstained_right = sum(a.abstained for a in unanswerable)
    abstained_wrong = sum(a.abstained for a in answerable)
    return {
        "n": len(every),
        "citation_hit_rate": ratio(sum(bool(a.citation_hit) for a in answerable), len(answerable)),
        "facts_pass_rate": ratio(sum(not a.facts_missing for a in answerable), len(answerable)),
        "facts_fraction": ratio(sum(len(a.facts_found) for a in answerable), facts_total),
        "quote_validity": ratio(quotes - sum(len(a.bad_quotes) for a in every), quotes),
        "abstention_precision": ratio(abstained_right, abstained_right + abstained_wrong),
        "abstention_recall": ratio(abstained_right, len(unanswerable)),
        "false_abstention_rate": ratio(abstained_wrong, len(answerable)),
        # what more facts cost the reader: longer quotes carry more of them
        "answer_words": percentile([len(a.text.split()) for a in every if not a.abstained], 50),
    }


# ---- running ----


def run_eval(
    assistant,
    questions: list[EvalQuestion],
    retrievers: Sequence[str] = RETRIEVERS,
    answers: bool = True,
    progress: bool = True,
) -> EvalReport:
    """Ask every question (when `answers`) and search it with every retriever; score it all in one report."""
    unknown = [mode for mode in retrievers if mode not in RETRIEVERS]
    if unknown:
        raise EvalError(f"unknown retriever {unknown[0]!r}; choose from {', '.join(RETRIEVERS)}")
    warm_up(assistant, retrievers, answers)
    started = time.perf_counter()
    results = []
    for q in tqdm(questions, desc="eval", unit="q", disable=not progress):
        answer, seconds = ask(assistant, q) if answers else (None, 0.0)
        query = retrieval_query(assistant, q, answer)
        retrieved = {mode: search(assistant, query, q, mode) for mode in retrievers}
        scored = score_answer(assistant.corpus, q, answer, seconds) if answer else None
        results.append(QuestionResult(q, query, retrieved, scored))
    meta = run_meta(assistant, len(questions), list(retrievers), answers, time.perf_counter() - started)
    return EvalReport(results, list(retrievers), meta)


def warm_up(assistant, retrievers: Sequence[str], answers: bool) -> None:
    """The first search and ask pay for loading the model and building caches: keep that out of the timings."""
    for mode in retrievers:
        assistant.retriever.search("migrant workers", k=DEPTH, mode=mode)
    if answers:
        assistant.ask("Who chaired the meeting?")


def ask(assistant, q: EvalQuestion) -> tuple[Any, float]:
    started = time.perf_counter()
    answer = assistant.ask(q.question, history=[dict(turn) for turn in q.history] or None)
    return answer, time.perf_counter() - started


def retrieval_query(assistant, q: EvalQuestion, answer) -> str:
    """The answerer's own resolution of a follow-up, so every retriever sees what the answer path saw."""
    if not q.history:
        return q.question
    if answer is not None and answer.resolved_question:
        return answer.resolved_question
    return resolve_question(assistant, q)


def resolve_question(assistant, q: EvalQuestion) -> str:
    """Without an answer to read it from: the answerer's resolver if it has one, else history + question."""
    resolver: Callable | None = getattr(assistant.answerer, "resolve_question", None)
    if resolver is not None:
        return resolver(q.question, q.history)
    return " ".join([turn["question"] for turn in q.history] + [q.question])


def search(assistant, query: str, q: EvalQuestion, mode: str) -> Retrieved:
    started = time.perf_counter()
    hits = assistant.retriever.search(query, k=DEPTH, mode=mode)
    seconds = time.perf_counter() - started
    labels = [(hit.passage.document, hit.passage.paragraph) for hit in hits]
    names = [hit.passage.label for hit in hits]
    return Retrieved(labels, names, seconds, first_hit(labels, q.gold), ndcg_at(labels, q.gold))


def score_answer(corpus: Corpus, q: EvalQuestion, answer, seconds: float) -> Answered:
    cited = [(c.document, c.paragraph) for c in answer.citations]
    # a refusal answers nothing, though its 'closest they come' quote may hold a fact
    text = "" if answer.abstained else normalise(answer.answer)
    return Answered(
        text=answer.answer,
        mode=answer.mode,
        abstained=answer.abstained,
        cited=cited,
        seconds=seconds,
        citation_hit=bool(set(cited) & set(q.gold)) if q.answerable else None,
        facts_found=[fact for fact in q.facts if normalise(fact) in text],
        facts_missing=[fact for fact in q.facts if normalise(fact) not in text],
        quotes=len(answer.citations),
        bad_quotes=[c.label for c in answer.citations if not quote_is_verbatim(corpus, c)],
    )


def quote_is_verbatim(corpus: Corpus, citation) -> bool:
    """A quote must be a non-empty, exact substring of the cited passage's full text in the corpus."""
    passage = find_passage(corpus, citation.document, citation.paragraph)
    return bool(passage and citation.quote and citation.quote in passage.text)


def run_meta(assistant, questions: int, retrievers: list[str], answers: bool, seconds: float) -> dict:
    settings = assistant.settings
    return {
        "date": date.today().isoformat(),
        "commit": git_commit(),
        "model": settings.model,
        "corpus": assistant.corpus.content_hash,
        "passages": len(assistant.corpus.passages),
        "questions": questions,
        "retrievers": retrievers,
        "answers": ("generative" if settings.llm_base_url else "extractive") if answers else None,
        "k": DEPTH,
        "seconds": round(seconds, 1),
    }


def git_commit() -> str:
    """Short hash of HEAD, '+dirty' when the working tree has changes; 'unknown' outside a git checkout."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout

    try:
        commit = git("rev-parse", "--short", "HEAD").strip()
        # results files are outputs, not inputs: rewriting latest.json must not mark the next run dirty
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)eval/results").strip())
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


# ---- thresholds: the CI gate ----


def known_figures() -> list[str]:
    return [f"{mode}.{metric}" for mode in RETRIEVERS for metric in RETRIEVAL_METRICS] + list(ANSWER_METRICS)


def load_thresholds(path: Path) -> dict[str, dict[str, float]]:
    """{'min': {figure: value}, 'max': {figure: value}}; raises EvalError on an unknown figure or a bad value."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise EvalError(f"cannot read thresholds file {path}: {err.strerror}") from None
    except json.JSONDecodeError as err:
        raise EvalError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
    if not isinstance(data, dict):
        raise EvalError(f"{path}: expected an object with 'min' and/or 'max'")
    if unknown := set(data) - {"min", "max", "note", "crossval"}:  # crossval: eval/crossval.py's own bounds
        raise EvalError(f"{path}: unknown key {sorted(unknown)[0]!r}; use 'min', 'max', 'crossval' and 'note'")
    thresholds = {}
    for bound in ("min", "max"):
        limits = data.get(bound, {})
        if not isinstance(limits, dict):
            raise EvalError(f"{path}: {bound!r} must map figure names to numbers")
        for name, value in limits.items():
            if name not in known_figures():
                raise EvalError(f"{path}: unknown figure {name!r} in {bound!r}; known: {', '.join(known_figures())}")
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise EvalError(f"{path}: {bound}.{name} must be a number between 0 and 1, not {value!r}")
        thresholds[bound] = {name: float(value) for name, value in limits.items()}
    return thresholds


def check_thresholds(report: EvalReport, thresholds: dict) -> list[str]:
    """One line per failure, naming the figure, its value and the threshold; a figure not measured fails too.
    Four decimals, so 130/153 = 0.8497 never shows as a puzzling '0.850 is below the minimum 0.850'."""
    figures = report.figures()
    failures = []
    for bound, limits in (("min", thresholds.get("min", {})), ("max", thresholds.get("max", {}))):
        for name, limit in limits.items():
            value = figures.get(name)
            if value is None:
                failures.append(f"{name} was not measured in this run (threshold {bound} {limit:.4f})")
            elif bound == "min" and value < limit:
                failures.append(f"{name} = {value:.4f} is below the minimum {limit:.4f}")
            elif bound == "max" and value > limit:
                failures.append(f"{name} = {value:.4f} is above the maximum {limit:.4f}")
    return failures


# ---- output ----


def write_results(
    report: EvalReport, results_dir: Path, set_name: str = "", runs_dir: Path | None = None
) -> list[Path]:
    """The small summary (figures and misses) as <date>-<commit>[-set].md and latest[-set].md in results_dir, kept in
    version control; every answer in full as JSON in runs_dir (results_dir/../runs, outside version control).

    set_name keeps the figures of another question set (e.g. "heldout") from overwriting the main set's.
    """
    results_dir = Path(results_dir)
    runs_dir = Path(runs_dir) if runs_dir else results_dir.parent / "runs"
    suffix = f"-{set_name}" if set_name else ""
    stem = f"{report.meta.get('date', date.today().isoformat())}-{report.meta.get('commit', 'unknown')}{suffix}"
    paths = []
    for folder, ext, content in (
        (results_dir, ".md", report.markdown()),
        (runs_dir, ".json", json.dumps(report.to_dict(), ensure_ascii=False, indent=1) + "\n"),
    ):
        folder.mkdir(parents=True, exist_ok=True)
        for name in (stem, f"latest{suffix}"):
            path = folder / f"{name}{ext}"
            path.write_text(content, encoding="utf-8")
            paths.append(path)
    return paths


def fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def fmt_figure(name: str, value: float | None) -> str:
    """A headline figure as printed: a rate to three places, a count of words whole."""
    return fmt(value, 0 if name in COUNT_FIGURES else 3)


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value * 1000:.0f} ms"


def grid(header: list[str], rows: list[list[str]]) -> str:
    """A plain text table, columns padded to their widest cell."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)) for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def pipe_table(header: list[str], rows: list[list[str]]) -> str:
    def row_text(cells: list[str]) -> str:
        return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"

    return "\n".join([row_text(header), "|" + "---|" * len(header), *(row_text(row) for row in rows)])


def retrieval_rows(report: EvalReport) -> tuple[list[str], list[list[str]]]:
    latency = report.latency()
    header = ["retriever", *RETRIEVAL_METRICS, "p50", "p95"]
    rows = []
    for mode, groups in report.retrieval().items():
        times = latency[f"search {mode}"]
        rows.append([mode, *(fmt(groups["all"][m]) for m in RETRIEVAL_METRICS), ms(times["p50"]), ms(times["p95"])])
    return header, rows


def per_kind_rows(report: EvalReport, metric: str) -> tuple[list[str], list[list[str]]]:
    retrieval = report.retrieval()
    kinds = [kind for kind in next(iter(retrieval.values()), {}) if kind != "all"]
    header = ["retriever", *(f"{kind} ({retrieval[report.retrievers[0]][kind]['n']})" for kind in kinds)]
    return header, [[mode, *(fmt(groups[kind][metric]) for kind in kinds)] for mode, groups in retrieval.items()]


def answer_rows(report: EvalReport) -> tuple[list[str], list[list[str]]]:
    header = ["kind", "n", "citation hit", "facts pass", "facts fraction", "abstained"]
    rows = []
    for name, group in report.groups(False).items():
        metrics = report.answers()[name]
        abstained = ratio(sum(r.answer.abstained for r in group if r.answer), len(group))
        row = [name, str(metrics["n"]), fmt(metrics["citation_hit_rate"]), fmt(metrics["facts_pass_rate"])]
        rows.append([*row, fmt(metrics["facts_fraction"]), fmt(abstained)])
    return header, rows


def headline_rows(report: EvalReport) -> list[list[str]]:
    overall = report.answers().get("all", {})
    return [[name.replace("_", " "), fmt_figure(name, overall.get(name))] for name in ANSWER_METRICS]


def miss_rows(report: EvalReport, width: int | None = None) -> tuple[list[str], list[list[str]]]:
    """One row per question where something failed: what failed, the gold, what came first instead, what was cited."""
    first = report.retrievers[0] if report.retrievers else None
    header = ["id", "kind", "failed", "gold", f"{first} top 3" if first else "top 3"] + ["cited"] * report.answered
    rows = []
    for r in report.misses():
        gold = [f"{d}, {p}" for d, p in r.question.gold] or ["(none)"]
        top = r.retrieved[first].names[:3] if first else []
        cells = [r.question.id, r.question.kind, " ".join(r.failures()), "; ".join(gold), "; ".join(top)]
        if report.answered:
            cells.append("; ".join(f"{d}, {p}" for d, p in r.answer.cited) if r.answer else "")
        rows.append([clip(cell, width) for cell in cells] if width else cells)
    return header, rows


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render_table(report: EvalReport) -> str:
    meta = report.meta
    parts = [
        f"{meta.get('questions')} questions, commit {meta.get('commit')}, model {meta.get('model')}, "
        f"{meta.get('seconds')} s"
    ]
    if report.retrievers:
        parts += ["", "Retrieval (answerable questions; hit = any gold passage in the top k)"]
        parts += [grid(*retrieval_rows(report)), "", "recall@5 per kind", grid(*per_kind_rows(report, "recall@5"))]
    if report.answered:
        ask = report.latency()["ask"]
        parts += ["", f"Answers ({meta.get('answers')}; ask p50 {ms(ask['p50'])}, p95 {ms(ask['p95'])})"]
        parts += [grid(*answer_rows(report)), "", grid(["figure", "value"], headline_rows(report))]
    header, rows = miss_rows(report, width=40)
    parts += ["", f"Misses ({len(rows)} questions)"]
    if rows:
        parts.append(grid(header, rows))
    return "\n".join(parts)


def render_markdown(report: EvalReport) -> str:
    meta = report.meta
    parts = [
        f"# Eval results {meta.get('date')} ({meta.get('commit')})",
        "",
        f"{meta.get('questions')} questions; model `{meta.get('model')}`; corpus {meta.get('corpus')} "
        f"({meta.get('passages')} passages); answers: {meta.get('answers') or 'not run'}; {meta.get('seconds')} s.",
    ]
    if report.retrievers:
        note = "Answerable questions only; a hit is any gold (document, paragraph) among the results."
        parts += ["", "## Retrieval", "", note, "", pipe_table(*retrieval_rows(report))]
        for metric in ("recall@5", "mrr@10"):
            parts += ["", f"### {metric} per kind", "", pipe_table(*per_kind_rows(report, metric))]
    if report.answered:
        ask = report.latency()["ask"]
        parts += ["", "## Answers", "", f"Ask latency p50 {ms(ask['p50'])}, p95 {ms(ask['p95'])}.", ""]
        parts += [pipe_table(*answer_rows(report)), "", pipe_table(["figure", "value"], headline_rows(report))]
    header, rows = miss_rows(report)
    parts += ["", f"## Misses ({len(rows)})", ""]
    parts.append(pipe_table(header, rows) if rows else "None.")
    return "\n".join(parts) + "\n"
