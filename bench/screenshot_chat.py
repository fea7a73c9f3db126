"""Save docs/screenshot-chat.png, the README's picture: the chat page answering a question, its source open.

Starts `assistant serve` over the built index (run `assistant build` first; ASSISTANT_* variables apply)
and drives Debian's Chromium:

    python bench/screenshot_chat.py [--question "..."] [--out docs/screenshot-chat.png]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from assistant.settings import PROJECT_ROOT, Settings

sys.path.insert(0, str(PROJECT_ROOT))  # for tests.live_server and the browser settings the tests use

from tests.live_server import run_live_server  # noqa: E402
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--question", default="What did Mr. Flynn say about alternatives to detention?")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "screenshot-chat.png")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory() as tmp,
        run_live_server(Settings(), Path(tmp) / "server.log") as server,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": args.height}, base_url=server.base_url)
        page.goto("/")
        page.fill("#question", args.question)
        page.press("#question", "Enter")
        page.locator(".turn .answer:not(.loading)").wait_for(timeout=60_000)
        markers = page.locator(".turn .marker")
        if markers.count():
            markers.first.click()
            page.locator("#source-panel").wait_for(state="visible")
        page.mouse.move(0, 0)  # no hover effects in the picture
        page.evaluate("document.activeElement.blur()")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out))
        browser.close()
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
