"""The built wheel carries the web page (templates and static files), and a server run from it serves the page."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from assistant.settings import PROJECT_ROOT, Settings
from tests.live_server import run_live_server

pytestmark = pytest.mark.slow

SOURCES = ["assistant", "web", "pyproject.toml", "README.md"]  # what pyproject.toml packages


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip wheel --no-deps .` over a copy of the sources (so the build leaves nothing in the checkout)."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        path = PROJECT_ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, source / name)
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), "."]
    subprocess.run(command, cwd=source, check=True, capture_output=True, text=True)
    (built,) = out.glob("assistant-*.whl")
    return built


def test_the_wheel_holds_every_template_and_static_file(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("templates", "static"):
        for path in (PROJECT_ROOT / "web" / folder).iterdir():
            assert f"assistant/web_files/{folder}/{path.name}" in names, f"{path.name} is missing from the wheel"


def test_a_server_installed_from_the_wheel_serves_the_page(wheel: Path, settings: Settings, tmp_path: Path):
    site = tmp_path / "site-packages"
    zipfile.ZipFile(wheel).extractall(site)
    # Run from an empty folder with only the wheel's files on the path: no checkout's web/ to fall back on
    # (the extracted copy would look for tmp_path/web, which does not exist, and fail to start).
    env = {"PYTHONPATH": str(site)}
    with run_live_server(settings, tmp_path / "server.log", cwd=tmp_path, extra_env=env) as server:
        page = httpx.get(f"{server.base_url}/", timeout=30)
        assert page.status_code == 200
        assets = re.findall(r'(?:href|src)="(/static/[^"?]+)', page.text)
        assert {"/static/app.css", "/static/chat.js"} <= set(assets)
        for asset in assets:
            response = httpx.get(f"{server.base_url}{asset}", timeout=30)
            assert response.status_code == 200, asset
            assert response.content == (PROJECT_ROOT / "web" / asset.removeprefix("/")).read_bytes(), asset
