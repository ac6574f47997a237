"""Browser tests: Playwright (sync API) drives Debian's /usr/bin/chromium against a
real uvicorn server on a free loopback port, on a seeded SQLite store.

Every page is watched: a console error or an uncaught page error fails the test,
and a JavaScript dialog (an XSS that ran) is recorded so the test can fail on it.
Screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, sync_playwright

sys.path.insert(0, str(Path(__file__).parent))

from browsing import Server, Watched  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives Chromium through Playwright")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer {url} within {timeout} s")


# module scope: the Playwright instance (and its event loop) ends with the journeys, so
# other tests (e.g. the monthly report's render test) can start their own
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: `apt-get install chromium` (.ci/run does)")
    from seeding import seed

    home = tmp_path_factory.mktemp("web-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POSTLOAN_HOME", str(home))
        mp.delenv("POSTLOAN_DATABASE_URL", raising=False)
        ids = seed(home)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "POSTLOAN_DATABASE_URL"}
    env["POSTLOAN_HOME"] = str(home)
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "postloan.api.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base}/api/v1/health", proc)
        yield Server(base, home, ids)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[Browser]:
    del server
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def watched(browser: Browser, server: Server) -> Iterator[Watched]:
    context = browser.new_context(
        base_url=server.base_url, viewport={"width": 1366, "height": 768}, locale="zh-CN"
    )
    page = context.new_page()
    found = Watched(page)
    page.on("console", lambda m: found.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: found.errors.append(str(exc)))

    def on_dialog(dialog: Dialog) -> None:
        found.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        yield found
    finally:
        context.close()
    assert not found.errors, f"browser console errors: {found.errors}"
