"""The web UI in a real headless Chromium, against a real server and a real Python worker.

It logs in, triggers runs, watches the grid turn green as htmx polls it, opens a task's log,
clears the task and watches it run again as try 2. Chromium and its driver come from Debian's
packages (``scripts/debian-package.sh chromium chromedriver:chromium-driver``, as ``nox -s tests``
installs them); without them the test is skipped on a developer's machine and fails in CI.
A screenshot of the grid is written to the test's folder, and also to ``BATON_UI_SCREENSHOT``
when that is set (docs/images/ui-grid.png is made so).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e import Stack
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

BUNDLE = Path(__file__).parent / "bundles" / "ui"
DEADLINE = 300.0
"""Seconds any one wait may take: generous for a loaded 2-core machine; a pass takes seconds."""


def _browser() -> tuple[str, str]:
    """Chromium and chromedriver from Debian's packages; a skip (a failure in CI) when absent."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
    )
    if chromium is None or driver is None:
        message = (
            "Chromium and chromedriver are needed: "
            "scripts/debian-package.sh chromium chromedriver:chromium-driver"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return chromium, driver


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """A headless Chromium driven through chromedriver (no download: Selenium Manager is never asked)."""
    chromium, driver_path = _browser()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def _wait(browser: WebDriver, what: str, condition: Callable[[WebDriver], Any]) -> Any:
    """Poll ``condition`` until it holds (htmx swaps elements under us: stale ones are retried)."""
    return WebDriverWait(
        browser,
        DEADLINE,
        poll_frequency=0.3,
        ignored_exceptions=(StaleElementReferenceException, NoSuchElementException),
    ).until(condition, message=f"waiting for {what}")


def _cell_states(browser: WebDriver, run_id: str) -> dict[str, str]:
    cells = browser.find_elements(By.CSS_SELECTOR, f'#grid a.cell[data-run="{run_id}"][data-task]')
    return {c.get_attribute("data-task") or "": c.get_attribute("data-state") or "" for c in cells}


def test__ui__trigger_watch_the_grid_turn_green_read_a_log_clear_and_see_it_run_again(
    stack: Stack, browser: WebDriver, tmp_path: Path
) -> None:
    stack.start_worker("ui", bundle=BUNDLE)
    ui = f"{stack.url}/ui"

    # Any page asks for a login first, and comes back to it after.
    browser.get(f"{ui}/dags/ui_tour")
    _wait(browser, "the login form", lambda b: b.find_element(By.ID, "token"))
    browser.find_element(By.ID, "token").send_keys(stack.admin_token)
    browser.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
    _wait(browser, "the DAG page", lambda b: b.find_element(By.ID, "trigger"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "ui_tour"

    # Two runs, triggered through the UI; the grid fills in live (no reload), both columns green.
    for _ in range(2):
        _wait(browser, "the trigger button", lambda b: b.find_element(By.ID, "trigger")).click()
        _wait(browser, "the run to be triggered", lambda b: "Run triggered." in b.page_source)
    runs = _wait(
        browser,
        "two runs in the grid",
        lambda b: (
            [
                e.get_attribute("data-run")
                for e in b.find_elements(By.CSS_SELECTOR, "#grid thead a.cell[data-run]")
            ]
            if len(b.find_elements(By.CSS_SELECTOR, "#grid thead a.cell[data-run]")) == 2
            else None
        ),
    )
    for run_id in runs:
        _wait(
            browser,
            f"run {run_id} to turn green",
            lambda b, r=run_id: _cell_states(b, r) == {"hello": "success", "goodbye": "success"},
        )

    # A task's log, from the grid.
    browser.find_element(By.CSS_SELECTOR, f'#grid a.cell[data-task="hello"][data-run="{runs[-1]}"]').click()
    _wait(browser, "the log line", lambda b: "hello: from the ui tour" in b.find_element(By.ID, "log").text)
    assert "success" in browser.find_element(By.ID, "ti-state").text
    task_page = browser.current_url

    # Clear it: it runs again, as try 2, and turns green again, followed live on its page.
    browser.find_element(By.ID, "clear").click()
    _wait(browser, "the clear to be done", lambda b: "Cleared" in b.page_source)
    _wait(
        browser,
        "try 2 to succeed",
        lambda b: (
            b.find_element(By.ID, "ti-state").get_attribute("data-try") == "2"
            and b.find_element(By.CSS_SELECTOR, "#ti-state .badge").get_attribute("data-state") == "success"
        ),
    )
    browser.get(f"{task_page.split('?')[0]}?try=2")
    _wait(
        browser, "try 2's log line", lambda b: "hello: from the ui tour" in b.find_element(By.ID, "log").text
    )
    _wait(
        browser,
        "the end of try 2's log",
        lambda b: "The attempt ended: success." in b.find_element(By.ID, "log").text,
    )

    browser.get(f"{ui}/dags/ui_tour")
    _wait(
        browser,
        "the grid to show the cleared run green again",
        lambda b: _cell_states(b, runs[-1]) == {"hello": "success", "goodbye": "success"},
    )
    grid = browser.find_element(By.CSS_SELECTOR, "main")
    shot = tmp_path / "ui-grid.png"
    assert grid.screenshot(str(shot))
    target = os.environ.get("BATON_UI_SCREENSHOT")
    if target:
        shutil.copyfile(shot, target)
