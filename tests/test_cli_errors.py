"""Everything a user can type wrong, through the real CLI in a subprocess: one line on stderr, exit code 2, no
traceback (issue 15 found 9 of 17 bad inputs printing one). Run side by side: most fail before the model loads."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from assistant.settings import PROJECT_ROOT
from tests.live_server import free_port, settings_env

BAD_INPUTS: dict[str, tuple[list[str], dict[str, str], str]] = {
    # name: (arguments, extra environment, words the error line must hold)
    "empty question": (["ask", ""], {}, "the question is empty"),
    "blank question": (["ask", "   "], {}, "the question is empty"),
    "invisible question": (["ask", "\u200b\u2060"], {}, "no visible characters"),
    "too long question": (["ask", "x" * 3000], {}, "the limit is 2000"),
    "empty earlier question": (["ask", "Who chaired it?", "--history", ""], {}, "the question is empty"),
    "empty search": (["search", ""], {}, "the question is empty"),
    "unknown kind": (["search", "detention", "--kind", "table"], {}, "--kind 'table' is not a passage kind"),
    "date as a word": (["search", "detention", "--date-from", "yesterday"], {}, "'yesterday' is not a date"),
    "impossible date": (["search", "detention", "--date-to", "2022-13-45"], {}, "'2022-13-45' is not a date"),
    "unknown document (ask)": (["ask", "Who chaired it?", "--document", "NOPE"], {}, "unknown document 'NOPE'"),
    "unknown document (search)": (["search", "detention", "--document", "NOPE"], {}, "unknown document 'NOPE'"),
    "unknown mode": (["search", "detention", "--mode", "fuzzy"], {}, "--mode must be"),
    "k zero": (["ask", "Who chaired it?", "-k", "0"], {}, "'-k' / '--k'"),
    "k not a number": (["ask", "Who chaired it?", "-k", "abc"], {}, "'-k' / '--k'"),
    "unknown option": (["ask", "Who chaired it?", "--bogus"], {}, "No such option: --bogus"),
    "missing question": (["ask"], {}, "Missing argument 'question'"),
    "unknown command": (["frobnicate"], {}, "No such command 'frobnicate'"),
    "malformed LLM URL": (
        ["serve"],
        {"ASSISTANT_LLM_BASE_URL": "http://[::1"},
        "ASSISTANT_LLM_BASE_URL: not a valid URL",
    ),
    "LLM URL without http": (["serve"], {"ASSISTANT_LLM_BASE_URL": "localhost:8080"}, "ASSISTANT_LLM_BASE_URL"),
    "port out of range": (["serve", "--port", "70000"], {}, "ASSISTANT_PORT"),
    "port not a number": (["serve"], {"ASSISTANT_PORT": "abc"}, "ASSISTANT_PORT"),
    "negative LLM timeout": (["serve"], {"ASSISTANT_LLM_TIMEOUT": "-1"}, "ASSISTANT_LLM_TIMEOUT"),
    "missing corpus": (["build", "--corpus", "/nonexistent-corpus"], {}, "/nonexistent-corpus does not exist"),
    "missing index": (["search", "detention", "--index", "/nonexistent-index"], {}, "there is no index"),
    "unknown retriever": (["eval", "--retriever", "foo"], {}, "--retriever must be"),
    "missing question set": (["eval", "--set", "/nonexistent.jsonl", "--no-write"], {}, "does not exist"),
}


@pytest.fixture(scope="module")
def outcomes(settings) -> dict[str, subprocess.CompletedProcess]:
    """Every bad input run at once: (returncode, stdout, stderr) by name."""
    env = settings_env(settings, free_port())
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", *args],
            env=env | extra,
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, (args, extra, _) in BAD_INPUTS.items()
    }
    done = {}
    for name, process in processes.items():
        try:
            stdout, stderr = process.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        done[name] = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return done


def assert_one_line_error(result: subprocess.CompletedProcess, words: str) -> None:
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
    assert words in lines[0], lines[0]
    assert result.stdout == "", result.stdout[:500]


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_a_bad_input_is_one_line_and_exit_code_2(outcomes, name):
    assert_one_line_error(outcomes[name], BAD_INPUTS[name][2])


def test_serve_on_a_port_in_use_is_one_line(settings):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "serve"],
            env=settings_env(settings, port),
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert_one_line_error(result, f"cannot listen on 127.0.0.1:{port}")


def test_no_arguments_prints_the_help(settings):
    result = subprocess.run(
        [sys.executable, "-m", "assistant.cli"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2 and "Usage: assistant" in result.stdout and "Traceback" not in result.stderr
