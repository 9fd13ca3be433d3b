"""The sandbox's UIs in a real browser: headless Chromium (Debian's `chromium` + `chromium-driver`) through Selenium.
The Airflow UI (a run's task states) and MinIO's console (a run's files). Used by the tutorial's UI checks
(tests/stack/test_tutorial_sandbox.py) and `make tutorial-screenshots`."""

from __future__ import annotations

import contextlib
import shutil
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

T = TypeVar("T")
CHROMIUM = "/usr/bin/chromium"
DRIVER = "/usr/bin/chromedriver"


def available() -> str | None:
    """None when a headless Chromium can run here, else why not."""
    missing = [p for p in (CHROMIUM, DRIVER) if not shutil.which(p)]
    return f"missing {', '.join(missing)} (apt-get install chromium chromium-driver)" if missing else None


@contextmanager
def browser(width: int = 1400, height: int = 900) -> Iterator[WebDriver]:
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}"):
        o.add_argument(a)
    d = webdriver.Chrome(options=o, service=Service(DRIVER))  # the driver given: Selenium downloads nothing
    try:
        yield d
    finally:
        d.quit()


def _until(what: str, fn: Callable[[], T | None], timeout: float) -> T:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if value := fn():
                return value
        except Exception:  # the page is still rendering
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"the UI did not show {what} within {timeout:.0f}s")
        time.sleep(0.5)


def login(d: WebDriver, base: str, user: str, password: str, timeout: float = 60) -> None:
    """SimpleAuthManager's sign-in form: username, password, Enter; done when the app leaves /auth/login."""
    d.get(base.rstrip("/") + "/")
    fields = _until("the sign-in form", lambda: d.find_elements(By.CSS_SELECTOR, "input")[:2], timeout)
    fields[0].send_keys(user)
    fields[1].send_keys(password, Keys.ENTER)
    _until("the signed-in app", lambda: "/auth/login" not in d.current_url, timeout)


def run_states(d: WebDriver, base: str, dag_id: str, run_id: str, tasks: int, timeout: float = 60) -> dict[str, str]:
    """Open a DAG run's page and read its task-instance table: {task_id: state as shown}, once `tasks` rows show."""
    d.get(f"{base.rstrip('/')}/dags/{dag_id}/runs/{urllib.parse.quote(run_id, safe='')}")

    def rows() -> dict[str, str] | None:
        out = {}
        for tr in d.find_elements(By.CSS_SELECTOR, "table tbody tr"):
            cells = [c.text.strip() for c in tr.find_elements(By.TAG_NAME, "td")]
            texts = [c for c in cells if c]
            if texts:
                out[texts[0]] = texts[1] if len(texts) > 1 else ""
        return out if len(out) >= tasks else None

    return _until(f"{tasks} task instances of {dag_id}/{run_id}", rows, timeout)


def minio_login(d: WebDriver, base: str, access_key: str, secret_key: str, timeout: float = 60) -> None:
    """MinIO console's sign-in form; then its one-time AGPL notice, acknowledged so that it covers nothing."""
    d.get(base.rstrip("/") + "/login")
    _until("the console's sign-in form", lambda: d.find_element(By.ID, "accessKey"), timeout).send_keys(access_key)
    d.find_element(By.ID, "secretKey").send_keys(secret_key, Keys.ENTER)
    _until("the console's buckets", lambda: "/login" not in d.current_url, timeout)
    with contextlib.suppress(TimeoutError):
        _until("the license notice", lambda: d.find_element(By.ID, "acknowledge-confirm"), 5).click()


def minio_objects(d: WebDriver, base: str, bucket: str, prefix: str, contains: str, timeout: float = 60) -> set[str]:
    """The object browser at bucket/prefix with its filter box set to `contains`: the names it lists (the list only
    renders rows in view, so the filter keeps them few)."""
    d.get(f"{base.rstrip('/')}/browser/{bucket}/{urllib.parse.quote(prefix, safe='')}")
    box = _until(
        "the object filter", lambda: d.find_element(By.CSS_SELECTOR, "input[placeholder*='filter objects']"), timeout
    )
    box.send_keys(contains)

    def names() -> set[str] | None:
        rows = {r.text.split("\n")[0] for r in d.find_elements(By.CSS_SELECTOR, "[role=row]")}
        shown = {n for n in rows if contains in n}
        return shown if shown and shown == {n for n in rows if n != "Name"} else None

    return _until(f"objects with {contains!r} under {bucket}/{prefix}", names, timeout)


def screenshot(d: WebDriver, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    d.save_screenshot(str(path))
    return path
