"""The `assistant` command: thin wrappers that parse options, call the pipeline and print.

Plain text for people, `--json` for scripts; errors are one clear line on stderr, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from assistant.settings import Settings, settings_error, settings_table

try:  # typer 0.2x carries its own copy of click; older typer uses click itself
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - depends on the installed typer
    from click.exceptions import NoArgsIsHelpError, UsageError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Ask the UN Committee on Migrant Workers' records; every answer quotes and cites symbol and paragraph.",
)

CorpusOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--corpus", help=f"Corpus folder; repeatable, or joined by '{os.pathsep}' [env ASSISTANT_CORPUS_DIR]."
    ),
]
IndexOpt = Annotated[Path | None, typer.Option("--index", help="Index folder [env ASSISTANT_INDEX_DIR].")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Embedding model name or path [env ASSISTANT_MODEL].")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
KOpt = Annotated[int | None, typer.Option("-k", "--k", min=1, max=50, help="How many passages.")]
DocumentOpt = Annotated[list[str] | None, typer.Option("--document", "-d", help="Only this document (repeatable).")]


def make_settings(**overrides: Any) -> Settings:
    """Environment and defaults, then whatever the command line set."""
    names = {"corpus": "corpus_dir", "index": "index_dir"}
    values = {names.get(k, k): v for k, v in overrides.items() if v is not None}
    if "corpus_dir" in values:  # --corpus a --corpus b: one setting, folders joined as in the environment variable
        values["corpus_dir"] = Path(os.pathsep.join(str(folder) for folder in values["corpus_dir"]))
    try:
        return Settings(**values)
    except ValidationError as err:
        fail(f"invalid setting: {settings_error(err)}")


def fail(message: str, code: int = 2) -> typer.Exit:
    """One line on stderr and exit code 2 (a usage error, as click reports its own): never a traceback."""
    typer.secho(f"error: {' '.join(message.split())}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def open_assistant(settings: Settings):
    from assistant.documents import DocumentError
    from assistant.embeddings import ModelNotAvailable
    from assistant.index import IndexNotReady
    from assistant.service import Assistant

    try:
        return Assistant.open(settings)
    except (IndexNotReady, DocumentError, ModelNotAvailable) as err:
        fail(str(err))


def filters_from(document: list[str] | None = None, **values: Any):
    """Filters checked before the model loads: an unknown kind or an impossible date fails at once, in one line."""
    from assistant.retrieval import KINDS, Filters, check_date

    unknown = [kind for kind in values.get("kind") or [] if kind not in KINDS]
    if unknown:
        fail(f"--kind {unknown[0]!r} is not a passage kind; use one of: {', '.join(KINDS)}")
    try:
        for name in ("date_from", "date_to"):
            check_date(f"--{name.replace('_', '-')}", values.get(name))
    except ValueError as err:
        fail(str(err))
    return Filters(document=document or None, **{k: v for k, v in values.items() if v})


def checked_question(text: str, settings: Settings) -> str:
    """The question as the web service would accept it: visible characters, not too long."""
    from assistant.api_models import check_question

    try:
        return check_question(text, settings.max_question_chars)
    except ValueError as err:
        fail(str(err))


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@app.command()
def paragraphs(
    json_out: JsonOpt = False,
    document: DocumentOpt = None,
    check: Annotated[bool, typer.Option("--check", help="Report corpus problems; exit 1 if any is an error.")] = False,
    corpus: CorpusOpt = None,
) -> None:
    """List every passage of the corpus with its citation (one JSON object per line with --json)."""
    from assistant.corpus import load_corpus, structure_report
    from assistant.documents import DocumentError

    settings = make_settings(corpus=corpus)
    try:
        loaded = load_corpus(settings.corpus_dirs)
    except DocumentError as err:
        fail(str(err))
    if check:
        for line in structure_report(loaded):
            typer.echo(line)
        for problem in loaded.problems:
            typer.echo(str(problem), err=True)
        errors = sum(p.severity == "error" for p in loaded.problems)
        typer.echo(
            f"{len(loaded.documents)} documents, {len(loaded.passages)} passages, "
            f"{errors} errors, {len(loaded.problems) - errors} warnings"
        )
        raise typer.Exit(1 if errors else 0)
    wanted = set(document or [])
    for passage in loaded.passages:
        if wanted and not wanted & {passage.document, passage.doc_id}:
            continue
        if json_out:
            typer.echo(json.dumps(passage.to_dict(), ensure_ascii=False))
        else:
            who = f" [{passage.speaker}]" if passage.speaker else ""
            typer.echo(f"{passage.label}{who}: {passage.text[:100]}")


@app.command()
def build(
    force: Annotated[bool, typer.Option("--force", help="Rebuild even when the index is up to date.")] = False,
    allow_errors: Annotated[
        bool, typer.Option("--allow-errors", help="Build from the documents that loaded even when others have errors.")
    ] = False,
    corpus: CorpusOpt = None,
    index: IndexOpt = None,
    model: ModelOpt = None,
) -> None:
    """Build the search index from the corpus (only what changed; nothing when up to date)."""
    from assistant.corpus import load_corpus
    from assistant.documents import DocumentError
    from assistant.embeddings import ModelNotAvailable
    from assistant.index import IndexNotReady, build_index

    settings = make_settings(corpus=corpus, index=index, model=model)
    try:
        loaded = load_corpus(settings.corpus_dirs)
    except DocumentError as err:
        fail(str(err))
    for problem in loaded.problems:
        typer.echo(str(problem), err=True)
    errors = sum(p.severity == "error" for p in loaded.problems)
    if errors and not allow_errors:
        fail(
            f"the corpus has {errors} error(s) (above); the index in {settings.index_dir} is kept as it was. "
            "Fix them (`assistant paragraphs --check`), or build from what loaded with `assistant build --allow-errors`"
        )
    if not loaded.passages:
        fail(
            f"no passages in {settings.corpus_dir}; add documents (see README, 'Adding a general comment or a record')"
        )
    try:
        report = build_index(loaded, settings, force=force, progress=True)
    except (ModelNotAvailable, IndexNotReady) as err:
        fail(str(err))
    verb = "built" if report.built else "nothing to do"
    typer.echo(
        f"{verb}: {report.reason}; {report.passages} passages, {report.embedded} embedded, "
        f"{report.reused} reused from cache, {report.seconds:.1f} s -> {settings.index_dir}"
    )


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in plain language.")],
    k: KOpt = None,
    json_out: JsonOpt = False,
    document: DocumentOpt = None,
    speaker: Annotated[str | None, typer.Option(help="Only passages of this speaker or affiliation.")] = None,
    kind: Annotated[list[str] | None, typer.Option(help="paragraph, header or footnote (repeatable).")] = None,
    date_from: Annotated[str | None, typer.Option(help="ISO date, e.g. 2022-01-01.")] = None,
    date_to: Annotated[str | None, typer.Option(help="ISO date.")] = None,
    mode: Annotated[str, typer.Option(help="hybrid, dense or bm25.")] = "hybrid",
    index: IndexOpt = None,
    model: ModelOpt = None,
) -> None:
    """Ranked passages for a question, with fused score and each retriever's rank."""
    if mode not in ("hybrid", "dense", "bm25"):
        fail(f"--mode must be hybrid, dense or bm25, not {mode!r}")
    settings = make_settings(index=index, model=model)
    query = checked_question(query, settings)
    filters = filters_from(document, speaker=speaker, kind=kind, date_from=date_from, date_to=date_to)
    assistant = open_assistant(settings)
    try:
        hits = assistant.search(query, k=k, filters=filters, mode=mode)
    except ValueError as err:  # the pipeline's own checks: an empty query, an unknown document, kind or date
        fail(str(err))
    if json_out:
        print_json([hit.to_dict() for hit in hits])
        return
    for hit in hits:
        ranks = f"dense #{hit.dense_rank or '-'}, bm25 #{hit.bm25_rank or '-'}"
        who = f" [{hit.passage.speaker}]" if hit.passage.speaker else ""
        typer.echo(f"{hit.rank:>2}. {hit.passage.label}{who}  score {hit.score:.3f} ({ranks})")
        typer.echo(f"    {hit.passage.text[:160]}")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question, in plain language.")],
    k: KOpt = None,
    json_out: JsonOpt = False,
    document: DocumentOpt = None,
    history: Annotated[
        list[str] | None, typer.Option("--history", help="An earlier question of the conversation (repeatable).")
    ] = None,
    index: IndexOpt = None,
    model: ModelOpt = None,
) -> None:
    """Answer a question with verbatim quotes, speakers, dates and paragraph citations."""
    settings = make_settings(index=index, model=model)
    question = checked_question(question, settings)
    turns = [{"question": checked_question(q, settings)} for q in history or []]
    filters = filters_from(document)
    assistant = open_assistant(settings)
    try:
        answer = assistant.ask(question, history=turns, k=k, filters=filters)
    except ValueError as err:  # QuestionError (empty, too long) and the filters' checks
        fail(str(err))
    if json_out:
        print_json(answer.to_dict())
        return
    typer.echo(answer.answer)
    if answer.notice:
        typer.secho(f"({answer.notice})", fg=typer.colors.YELLOW)
    for citation in answer.citations or answer.related:
        typer.echo(f"[{citation.n}] {citation.label}" + (f" — {citation.date}" if citation.date else ""))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [env ASSISTANT_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [env ASSISTANT_PORT].")] = None,
    index: IndexOpt = None,
    model: ModelOpt = None,
) -> None:
    """Start the chat page and JSON API (http://127.0.0.1:8000 by default)."""
    from assistant.server import serve as run_server
    from assistant.web import create_app

    settings = make_settings(host=host, port=port, index=index, model=model)
    check_can_listen(settings.host, settings.port)
    application = create_app(settings, open_assistant(settings))
    typer.echo(f"serving on http://{settings.host}:{settings.port}")
    run_server(application, settings.host, settings.port)


def check_can_listen(host: str, port: int) -> None:
    """Fail with one line (not uvicorn's log and traceback) when the address is taken or not this machine's."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except OSError as err:
        fail(f"cannot listen on {host}:{port} ({err.strerror or err}); choose another --host or --port")


@app.command("eval")
def evaluate(
    question_set: Annotated[Path, typer.Option("--set", help="Question set (JSON lines).")] = Path(
        "eval/questions.jsonl"
    ),
    retriever: Annotated[str, typer.Option(help="dense, bm25, hybrid or all.")] = "all",
    json_out: JsonOpt = False,
    check: Annotated[bool, typer.Option("--check", help="Only verify that every gold passage exists.")] = False,
    gate: Annotated[
        Path | None, typer.Option("--gate", help="Thresholds file: exit 1 when a headline figure falls below.")
    ] = None,
    write: Annotated[
        bool,
        typer.Option(
            "--write/--no-write", help="Save a summary to eval/results/ and every answer to eval/runs/ (not versioned)."
        ),
    ] = True,
    index: IndexOpt = None,
    model: ModelOpt = None,
) -> None:
    """Measure retrieval and answers on the question set; save and print the figures."""
    from assistant import evaluation

    if retriever not in ("dense", "bm25", "hybrid", "all"):
        fail(f"--retriever must be dense, bm25, hybrid or all, not {retriever!r}")
    settings = make_settings(index=index, model=model)
    try:
        questions = evaluation.load_questions(question_set)
    except (OSError, ValueError) as err:
        fail(str(err))
    if check:
        from assistant.corpus import load_corpus

        problems = evaluation.check_gold(load_corpus(settings.corpus_dirs), questions)
        for problem in problems:
            typer.echo(problem, err=True)
        typer.echo(f"{len(questions)} questions, {len(problems)} problems")
        raise typer.Exit(1 if problems else 0)
    assistant = open_assistant(settings)
    retrievers = ["hybrid", "dense", "bm25"] if retriever == "all" else [retriever]
    report = evaluation.run_eval(
        assistant, questions, retrievers=retrievers, progress=sys.stderr.isatty() and not json_out
    )
    if write:
        set_name = "" if question_set.stem == "questions" else question_set.stem
        for path in evaluation.write_results(report, question_set.parent / "results", set_name):
            typer.echo(f"wrote {path}", err=True)
    if json_out:
        print_json(report.to_dict())
    else:
        typer.echo(report.table())
    if gate:
        failures = evaluation.check_thresholds(report, evaluation.load_thresholds(gate))
        for failure in failures:
            typer.secho(f"below threshold: {failure}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1 if failures else 0)


@app.command("settings")
def show_settings() -> None:
    """Print every setting with its environment variable, default and meaning."""
    for env, default, description in settings_table():
        typer.echo(f"{env:<30} {default:<28} {description}")


def main() -> int:
    """The console entry point: click's usage errors (a bad option or value) become one line, exit code 2."""
    try:
        result = app(prog_name="assistant", standalone_mode=False)
    except NoArgsIsHelpError:  # typer has printed the help already
        return 2
    except UsageError as err:
        hint = f" (run '{err.ctx.command_path} --help')" if err.ctx else ""
        typer.secho(f"error: {' '.join(err.format_message().split())}{hint}", fg=typer.colors.RED, err=True)
        return 2
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
