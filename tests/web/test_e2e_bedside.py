"""The clinical rules at the bedside in real headless Chromium (issue #12): the live panels and data queries.

A data manager grades a CRS event from its parameters and sees the computed grade appear as they type
(static/rules.js calling the JSON rule route), is asked for the disagreement reason when saving a
different grade; enters a weight, a cycle and a delivered dose that deviates from the plan and sees the
mark appear; opens the relapse form. A monitor raises a query on the relapse; the data manager
acknowledges it with a reason. BLINAREG_SCREENSHOTS=folder keeps a PNG of each form.
"""

from __future__ import annotations

import pytest

from tests.web import test_e2e_browser as e2e
from tests.web.test_e2e_browser import TIMEOUT_MS, Screens, fill, new_page, save, sign_in
from tests.web.web_factories import USERS

# The browser test's fixtures: the served app on a fresh store, and the headless Chromium.
store, base_url, browser = e2e.store, e2e.base_url, e2e.browser
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
PATIENT = "P-A1"  # born 2010-03-01, diagnosed 2015-05-04 (web_factories.small_registry)


def _panel_headline(page) -> str:
    return page.inner_text("#rules-panel .headline")


def test_live_rules_panels_and_a_query_acknowledged_with_a_reason(browser, base_url, store, request):
    screens = Screens("bedside-" + request.node.callspec.id)
    page = new_page(browser, base_url)
    sign_in(page, USERS["data_manager"])
    page.wait_for_url(f"{base_url}/")

    # CRS: the computed grade appears while the parameters are typed; a different recorded grade needs a reason.
    page.goto(f"/patients/{PATIENT}/adverse_event/new")
    fill(
        page,
        {"event_number": "1", "grade": "1", "onset_date": "2022-01-05", "temperature_c": "39.2"},
        {"term": "crs", "grading_system": "astct", "hypotension": "true", "vasopressin": "false", "oxygen": "none"},
    )
    page.wait_for_selector("#rules-panel .headline:has-text('not determined')")
    page.fill("form.record [name='vasopressors']", "1")
    page.wait_for_selector("#rules-panel .headline:has-text('Computed grade 3')", timeout=TIMEOUT_MS)
    assert _panel_headline(page) == "Computed grade 3 (recorded 1)"
    assert "Vasopressors" in page.inner_text("#rules-panel dl")
    screens.take(page, "01-crs-form")
    save(page)
    error = page.locator(".field.invalid:has(#f-disagreement_reason) .field-errors")
    assert "give the disagreement reason" in error.inner_text()
    assert store.load_registry([PATIENT])["adverse_event"].empty
    page.fill("#f-disagreement_reason", "graded by the ICU team before the vasopressor")
    save(page)
    page.wait_for_url(f"**/patients/{PATIENT}")

    # A weight, a cycle, then a delivered dose that deviates from the plan: the mark appears as it is typed.
    page.goto(f"/patients/{PATIENT}/body_measurement/new")
    fill(page, {"measurement_date": "2021-12-20", "weight_kg": "50", "height_cm": "150"}, {})
    save(page)
    page.wait_for_url(f"**/patients/{PATIENT}")
    page.goto(f"/patients/{PATIENT}/blinatumomab_cycle/new")
    fill(
        page,
        {"cycle_number": "1", "start_date": "2022-01-01", "end_date": "2022-01-28"},
        {"phase": "induction", "indication": "relapsed_refractory"},
    )
    page.wait_for_selector("#rules-panel dd:has-text('step 9, full 28')")
    save(page)
    page.wait_for_url(f"**/patients/{PATIENT}")
    page.goto(f"/patients/{PATIENT}/dose_segment/new")
    fill(
        page,
        {"cycle_number": "1", "start_date": "2022-01-08", "end_date": "2022-01-14", "dose": "18"},
        {"kind": "delivered", "unit": "mcg/day"},
    )
    page.wait_for_selector("#rules-panel tr.deviates")
    segment = page.locator("#rules-panel table:has(caption:text('Delivered doses')) tr.deviates")
    assert "-10" in segment.inner_text()
    assert "deviate" in _panel_headline(page)
    screens.take(page, "02-cycle-dose-form")
    save(page)
    page.wait_for_url(f"**/patients/{PATIENT}")

    # The relapse form classifies as it is typed.
    page.goto(f"/patients/{PATIENT}/relapse/new")
    fill(page, {"relapse_number": "1", "relapse_date": "2019-06-01", "marrow_blasts_pct": "30"}, {})
    fill(page, {}, {"site_bone_marrow": "true", "site_cns": "false", "site_testis": "false"})
    fill(page, {}, {"site_other_extramedullary": "false"})
    # No end of front-line therapy recorded: no BFM timing (said so), COG timing and the site class.
    page.wait_for_selector("#rules-panel .headline:has-text('Isolated bone marrow')")
    assert "Late" in page.inner_text("#rules-panel dl")
    screens.take(page, "03-relapse-form")
    save(page)
    page.wait_for_url(f"**/patients/{PATIENT}")

    # A monitor raises a query on the relapse; the data manager acknowledges it with a reason.
    monitor = new_page(browser, base_url)
    sign_in(monitor, USERS["monitor"])
    monitor.wait_for_url(f"{base_url}/")
    monitor.goto(f"/patients/{PATIENT}")
    monitor.click("#relapse a:has-text('Query')")
    monitor.select_option("#q-field", "relapse.marrow_blasts_pct")
    monitor.fill("#q-text", "please check the blast count against the marrow report")
    monitor.click("button:has-text('Raise the query')")
    monitor.wait_for_url(f"**/patients/{PATIENT}#queries")
    assert "please check the blast count" in monitor.inner_text("#queries")
    assert monitor.locator("a:has-text('Edit')").count() == 0  # a monitor reads, never edits
    screens.take(monitor, "05-patient-as-monitor")
    page.goto("/queries?status=open")
    row = page.locator("tr.query:has-text('please check the blast count')")
    row.locator("input[name='reason']").fill("30% confirmed in the marrow report")
    row.locator("button:has-text('Acknowledge')").click()
    page.wait_for_url("**/queries?status=open")
    page.goto(f"/queries?patient={PATIENT}")
    acknowledged = page.locator("tr.query:has-text('please check the blast count')")
    assert acknowledged.locator(".qstatus").first.text_content() == "acknowledged"
    assert "30% confirmed in the marrow report" in acknowledged.inner_text()
    screens.take(page, "04-queries")
    actions = [e.action for e in store.audit_entries(patient_id=PATIENT, record_type="data_query")]
    assert actions[-2:] == ["query_raise", "query_acknowledge"]
