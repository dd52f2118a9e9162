"""End to end in real headless Chromium (Debian's chromium, driven by Playwright's Python API).

A data manager signs in and enters a patient record by record (diagnosis, relapse, blinatumomab cycle,
MRD result, CRS event), sees the inline error of an impossible date, edits with a reason while a second
browser's stale edit of the same record is refused; the auditor sees the changes; five wrong passwords
lock an account. On SQLite and PostgreSQL. `scripts/test.sh` installs chromium when it is missing.

Set BLINAREG_SCREENSHOTS to a folder to keep a PNG of each page along the way (to look at them).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from blinareg.web.app import create_app
from blinareg.web.security import SecuritySettings

from tests.web.web_factories import PASSWORD, USERS, make_store

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 60_000  # a loaded 2-core CI machine


def chromium_path() -> str | None:
    for candidate in (os.environ.get("BLINAREG_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def store(database_url):
    return make_store(database_url)


@pytest.fixture
def base_url(store) -> Iterator[str]:
    """The app served by uvicorn in a thread on 127.0.0.1 and a free port."""
    with served_app(store) as url:
        yield url


@contextlib.contextmanager
def served_app(store) -> Iterator[str]:
    """Serve the app on `store` with uvicorn in a thread on 127.0.0.1 and a free port; yield its URL."""
    port = _free_port()
    app = create_app(store=store, settings=SecuritySettings())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the web server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    if executable is None:
        pytest.skip("chromium is not installed (scripts/test.sh installs it with apt-get when run as root)")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


class Screens:
    """PNG screenshots of the pages along the way, when BLINAREG_SCREENSHOTS names a folder."""

    def __init__(self, label: str) -> None:
        folder = os.environ.get("BLINAREG_SCREENSHOTS")
        self.folder = Path(folder) / label if folder else None
        if self.folder:
            self.folder.mkdir(parents=True, exist_ok=True)

    def take(self, page, name: str) -> None:
        if self.folder:
            page.screenshot(path=str(self.folder / f"{name}.png"), full_page=True)


def new_page(browser, base_url: str):
    context = browser.new_context(base_url=base_url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button:has-text('Sign in')")


def save(page) -> None:
    page.click("form.record button:has-text('Save')")


def add_record(page, record_type: str, fields: dict[str, str], selects: dict[str, str]) -> None:
    """Open the patient's 'Add' form of a record type, fill it in, save, and expect the patient page."""
    page.click(f"#{record_type} a:has-text('Add')")
    fill(page, fields, selects)
    save(page)
    page.wait_for_url("**/patients/E2E-001")


def fill(page, fields: dict[str, str], selects: dict[str, str]) -> None:
    for name, value in fields.items():
        page.fill(f"form.record [name='{name}']", value)
    for name, value in selects.items():
        page.select_option(f"form.record select[name='{name}']", value)


def test_data_entry_edit_conflict_audit_and_lockout(browser, base_url, store, request):
    screens = Screens(request.node.callspec.id)
    page = new_page(browser, base_url)
    page.goto("/login")
    screens.take(page, "01-login")
    sign_in(page, USERS["data_manager"])
    page.wait_for_url(f"{base_url}/")

    # A new patient, then one record after another from the patient page.
    page.click("nav >> text=New patient")
    fill(page, {"patient_id": "E2E-001", "birth_date": "2012-04"}, {"sex": "female"})
    save(page)
    page.wait_for_url("**/patients/E2E-001")
    assert "patient has no diagnosis record" in page.inner_text(".problems-panel")
    add_record(page, "diagnosis", {"diagnosis_date": "2019-01-10"}, {"immunophenotype_missing": "unknown"})

    # An impossible date: the error sits next to the field, which takes the focus; nothing is stored.
    page.click("#relapse a:has-text('Add')")
    fill(
        page,
        {"relapse_number": "1", "relapse_date": "2021-02-30", "marrow_blasts_pct": "35"},
        {"site_bone_marrow": "true"},
    )
    save(page)
    error = page.locator(".field.invalid:has(#f-relapse_date) .field-errors")
    assert "day value is outside expected range" in error.inner_text()
    # The page asks for the focus on the field in error (autofocus); whether the browser grants it depends on
    # whether its window has the focus at that moment, so the request is what is checked.
    assert page.locator("[autofocus]").evaluate_all("nodes => nodes.map(n => n.id)") == ["f-relapse_date"]
    assert page.input_value("#f-marrow_blasts_pct") == "35"  # what was typed stays
    screens.take(page, "02-inline-error")
    assert store.load_registry(["E2E-001"])["relapse"].empty
    page.fill("#f-relapse_date", "2021-03-01")
    save(page)
    page.wait_for_url("**/patients/E2E-001")

    add_record(
        page,
        "blinatumomab_cycle",
        {"cycle_number": "1", "start_date": "2021-04-01", "end_date": "2021-04-28"},
        {"phase": "induction", "indication": "relapsed_refractory"},
    )
    add_record(
        page,
        "mrd_assessment",
        {"assessment_date": "2021-04-29", "sensitivity": "0.0001"},
        {"sample": "BM", "method": "flow", "detected": "false"},
    )
    add_record(
        page,
        "adverse_event",
        {"event_number": "1", "grade": "1", "onset_date": "2021-04-02", "cycle_number": "1", "temperature_c": "38.6"},
        {"term": "crs", "grading_system": "astct", "oxygen": "none"},
    )
    screens.take(page, "03-patient")
    stored = store.load_registry(["E2E-001"])
    counts = {
        t: len(stored[t]) for t in ("diagnosis", "relapse", "blinatumomab_cycle", "mrd_assessment", "adverse_event")
    }
    assert counts == dict.fromkeys(counts, 1)
    assert stored["diagnosis"]["immunophenotype_missing"].tolist() == ["unknown"]
    assert stored["patient"]["birth_date_precision"].tolist() == ["month"]

    # Two browsers open the same relapse; the first saves with a reason, the second's save is refused.
    other = new_page(browser, base_url)
    sign_in(other, USERS["data_manager"])
    other.wait_for_url(f"{base_url}/")
    other.goto("/patients/E2E-001/relapse/1/edit")
    page.click("#relapse a:has-text('Edit')")
    page.fill("#f-marrow_blasts_pct", "40")
    save(page)
    assert "a reason is required" in page.inner_text(".field.reason")
    page.fill("#f-reason", "corrected from the marrow report")
    save(page)
    page.wait_for_url("**/patients/E2E-001")
    other.fill("#f-marrow_blasts_pct", "45")
    other.fill("#f-reason", "typo")
    save(other)
    other.wait_for_selector("table.conflict")
    assert "Nothing was overwritten" in other.inner_text(".alert")
    row = other.locator("table.conflict tr:has-text('Marrow blasts')")
    assert row.locator("td.theirs").inner_text() == "40.0" and row.locator("td.mine").inner_text() == "45.0"
    screens.take(other, "04-conflict")
    assert store.load_registry(["E2E-001"])["relapse"]["marrow_blasts_pct"].tolist() == [40.0]

    # The auditor sees the relapse entered and changed, with the reason, before and after.
    auditor = new_page(browser, base_url)
    sign_in(auditor, USERS["auditor"])
    auditor.wait_for_url(f"{base_url}/")
    auditor.goto("/audit")
    auditor.fill("input[name='patient']", "E2E-001")
    auditor.select_option("select[name='record_type']", "relapse")
    auditor.click("form.filters button:has-text('Filter')")
    auditor.wait_for_url("**/audit?*")
    rows = auditor.locator("table.audit tbody tr")
    assert rows.count() == 2
    newest, first = rows.nth(0).inner_text(), rows.nth(1).inner_text()
    assert "update" in newest and "corrected from the marrow report" in newest
    assert "marrow_blasts_pct: 35.0 → 40.0" in newest
    assert "create" in first and "dm" in first
    screens.take(auditor, "05-audit")

    # Five wrong passwords lock the account: the right one is refused afterwards.
    stranger = new_page(browser, base_url)
    for _ in range(5):
        sign_in(stranger, USERS["investigator"], "not the password")
        assert "Sign-in failed" in stranger.inner_text(".alert")
    sign_in(stranger, USERS["investigator"])
    assert "Sign-in failed" in stranger.inner_text(".alert")
    assert store.accounts.get(USERS["investigator"]).locked
