"""End to end in headless Chromium: timeline and dashboard pages, a report job downloaded, a freeze's report.

An investigator opens a patient's timeline (hover titles on the marks) and the cohort dashboard, runs a
report from the browser and downloads its results.json, freezes the registry, verifies the freeze's
hash and runs a report from it; after later edits of the live records the freeze's report is run again
and its results.json is byte-identical to the first. SYNTHETIC data; SQLite and PostgreSQL.
Set BLINAREG_SCREENSHOTS to a folder to keep PNGs of the pages.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from blinareg.store import Store
from blinareg.synth import generate
from blinareg.web.security import hash_password
from tests.web.test_e2e_browser import Screens, new_page, served_app, sign_in
from tests.web.test_e2e_browser import browser  # noqa: F401 - the module's Chromium fixture
from tests.web.web_factories import PASSWORD

JOB_TIMEOUT_MS = 600_000  # a report job on a loaded 2-core machine
CENTER = "SYN-C01"


@pytest.fixture
def store(database_url):
    store = Store.open(database_url)
    store.init()
    store.import_registry(generate(12, seed=7, centers=1), source="e2e synthetic registry", actor="test")
    store.accounts.add("inv", hash_password(PASSWORD), "investigator", [CENTER], actor="test")
    yield store
    store.close()


@pytest.fixture
def base_url(store) -> Iterator[str]:
    with served_app(store) as url:
        yield url


def choose_files(page, wanted: set[str]) -> None:
    for box in page.locator("input[name='formats']").all():
        box.set_checked(box.get_attribute("value") in wanted)


def wait_done_and_download(page, tmp_path, name: str) -> bytes:
    page.wait_for_selector("#job-status:text-is('done')", timeout=JOB_TIMEOUT_MS)
    with page.expect_download() as download_info:
        page.click(f"ul.downloads a:text-is('{name}')")
    target = tmp_path / f"{time.monotonic_ns()}-{name}"
    download_info.value.save_as(target)
    return target.read_bytes()


def test_timeline_dashboard_report_download_and_freeze_report(browser, base_url, store, request, tmp_path):  # noqa: F811
    screens = Screens(request.node.callspec.id + "-reports")
    page = new_page(browser, base_url)
    sign_in(page, "inv")
    page.wait_for_url(f"{base_url}/")
    patient = sorted(store.load_registry()["patient"]["patient_id"])[0]

    page.goto(f"/patients/{patient}")
    page.click("a:text-is('Timeline')")
    page.wait_for_url(f"**/patients/{patient}/timeline")
    titles = page.locator("figure.timeline svg title").all_text_contents()
    assert any(t.startswith("Cycle 1:") for t in titles)
    page.locator("svg rect.cycle").first.hover()  # the native tooltip is the mark's <title>
    screens.take(page, "01-timeline")

    page.click("nav >> text=Dashboard")
    page.wait_for_url("**/dashboard")
    assert "12 patients of your centers" in page.inner_text(".page-head")
    assert page.locator("section.card h2:text-is('Overall survival')").count() == 1
    screens.take(page, "02-dashboard")

    page.click("nav >> text=Reports")
    page.wait_for_url("**/reports")
    choose_files(page, {"html", "json"})
    page.click("button:text-is('Run the report')")
    page.wait_for_url("**/reports/*")
    results = json.loads(wait_done_and_download(page, tmp_path, "results.json"))
    assert results["cohort"]["overall"]["n"] == 12
    report_html = wait_done_and_download(page, tmp_path, "report.html")
    assert b"<html" in report_html[:500].lower()
    screens.take(page, "03-report-job")

    page.click("nav >> text=Freezes")
    page.wait_for_url("**/freezes")
    page.fill("#name", "interim e2e")
    page.click("button:text-is('Freeze')")
    page.wait_for_url("**/freezes/*")
    sha = page.inner_text("#freeze-sha")
    freeze_page = page.url
    page.click("button:text-is('Verify the SHA-256')")
    assert sha in page.inner_text("#verify-result") and "Verified" in page.inner_text("#verify-result")
    choose_files(page, {"json"})
    page.click("button:text-is('Run the report from the freeze')")
    page.wait_for_url("**/reports/*")
    first = wait_done_and_download(page, tmp_path, "results.json")
    screens.take(page, "04-freeze-report")

    store.delete_record("patient", patient, actor="test")  # a later edit of the live records
    page.goto(freeze_page)
    choose_files(page, {"json"})
    page.click("button:text-is('Run the report from the freeze')")
    page.wait_for_url("**/reports/*")
    second = wait_done_and_download(page, tmp_path, "results.json")
    assert second == first
    assert json.loads(first)["meta"]["freeze"]["content_sha256"] == sha
