"""The explorer's screenshots in docs/ (the README shows them), taken in Debian's headless
Chromium from the real service on the demo data and on the UCDP GED sample:

    .venv/bin/python docs/explorer_screenshots.py

It also prints the first render of each page (ms from navigation until the page says it is
ready, the best of three cold loads).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.explorer.test_browser import CHROMIUM, CHROMIUM_ARGS, READY  # noqa: E402
from tests.factories import UCDP_SAMPLE  # noqa: E402
from tests.servers import free_port, serve  # noqa: E402

SHOTS = {
    "demo": [("explorer-demo.png", ""), ("explorer-event.png", "event=1")],
    "ucdp": [("explorer-ucdp.png", "interval=year")],
}


def started(dataset: str, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder / dataset}.db", "RATE_LIMIT_PER_MINUTE": "0"}
    cli = [sys.executable, "-m", "app.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    loading = ["demo"] if dataset == "demo" else ["import", "ucdp-ged", str(UCDP_SAMPLE)]
    subprocess.run([*cli, *loading], env=env, check=True, capture_output=True)
    port = free_port()
    return serve(env, port), f"http://127.0.0.1:{port}"


def shoot(browser: Browser, url: str, path: Path) -> float:
    timings = []
    for attempt in range(3):
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector(READY, state="attached")
        timings.append(float(page.evaluate("window.explorerReadyAt")))
        if attempt == 2:
            page.wait_for_timeout(500)  # the cluster animations settle
            page.screenshot(path=str(path))
        context.close()
    return min(timings)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for dataset, shots in SHOTS.items():
            server, base = started(dataset, Path(folder))
            try:
                for name, query in shots:
                    best = shoot(browser, f"{base}/explore?{query}", ROOT / "docs" / name)
                    print(f"{name}: first render {best:.0f} ms (best of 3)")
            finally:
                server.terminate()
                server.wait(10)
        browser.close()


if __name__ == "__main__":
    main()
