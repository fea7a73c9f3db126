"""A real `assistant serve` in a subprocess on 127.0.0.1, for tests and scripts that talk HTTP to it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from assistant.settings import PROJECT_ROOT, Settings


@dataclass
class LiveServer:
    base_url: str
    port: int
    process: subprocess.Popen
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def settings_env(settings: Settings, port: int) -> dict[str, str]:
    """The process environment with every setting as its ASSISTANT_* variable; unset ones removed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"ASSISTANT_{name.upper()}"] = str(value)
    env.update(ASSISTANT_HOST="127.0.0.1", ASSISTANT_PORT=str(port), PYTHONUNBUFFERED="1")
    return env


@contextmanager
def run_live_server(
    settings: Settings,
    log: Path,
    startup_timeout: float = 180.0,
    cwd: Path = PROJECT_ROOT,
    extra_env: dict[str, str] | None = None,
) -> Iterator[LiveServer]:
    """Start `python -m assistant.cli serve` (from cwd, with extra_env: e.g. an installed copy on PYTHONPATH),
    wait until /healthz answers, and stop it afterwards."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve"],
            env=settings_env(settings, port) | (extra_env or {}),
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", port, process, log)
    try:
        wait_until_healthy(server, startup_timeout)
        yield server
    finally:
        stop(process)


def wait_until_healthy(server: LiveServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the server did not answer /healthz within {timeout:.0f} s:\n{server.log_tail()}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
