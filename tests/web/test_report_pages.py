"""Timeline, dashboard, report jobs and freeze pages through the app (SQLite and PostgreSQL).

Report jobs run in a real worker process (`python -m blinareg.web.report_jobs`), as in production.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

from blinareg.store.freezes import Freezes
from blinareg.store.report_jobs import ReportJobs
from blinareg.store.scoped import CenterScope
from blinareg.web import report_jobs
from blinareg.web.data_out import analysis_results
from tests.web.conftest import OTHER, OWN

JOB_TIMEOUT_SECONDS = 600  # a loaded CI machine; the job itself takes seconds


def wait_for_job(client, location: str) -> str:
    deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
    while True:
        page = client.get(location)
        assert page.status_code == 200, page.text[:300]
        status = re.search(r'id="job-status">(\w+)<', page.text).group(1)
        if status not in ("queued", "running"):
            return page.text
        assert time.monotonic() < deadline, f"job {location} still {status}"
        time.sleep(0.5)


def run_report_job(client, url: str, data: dict) -> tuple[int, str]:
    answer = client.post(url, data=data, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:500]
    location = answer.headers["location"]
    page = wait_for_job(client, location)
    assert 'id="job-status">done<' in page, page[:2000]
    return int(location.rsplit("/", 1)[1]), page


def test_timeline_page_draws_the_patients_course_with_hover_values(web):
    client = web.client("investigator")
    patient = web.patients(OWN)[0]
    page = client.get(f"/patients/{patient}/timeline")
    assert page.status_code == 200
    svg = page.text[page.text.index("<svg") : page.text.index("</svg>")]
    assert "MRD (log scale)" in svg and "Blinatumomab" in svg and "Adverse events" in svg
    titles = re.findall(r"<title>([^<]*)</title>", svg)
    assert any(t.startswith("Cycle 1:") for t in titles)
    assert "style=" not in page.text  # the CSP allows no inline style
    assert client.get(f"/patients/{web.patients(OTHER)[0]}/timeline").status_code == 404
    assert client.get("/patients/NO-SUCH/timeline").status_code == 404
    assert web.client("statistician").get(f"/patients/{patient}/timeline").status_code == 403
    assert f'href="/patients/{patient}/timeline"' in client.get(f"/patients/{patient}").text


def test_dashboard_is_cached_until_a_write_and_counts_only_own_centers(web, monkeypatch):
    from blinareg.web.pages import analysis

    calls = []
    real = analysis.compute_dashboard

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(analysis, "compute_dashboard", counting)
    client = web.client("statistician")
    first = client.get("/dashboard")
    assert first.status_code == 200
    own = len(web.patients(OWN))
    assert f"{own} patients of your centers" in first.text
    assert not re.search(r"SYN-\d{6}", first.text)  # aggregates only
    assert client.get("/dashboard").status_code == 200 and len(calls) == 1
    web.client("investigator").get("/dashboard")  # same centers: the same cached dashboard
    assert len(calls) == 1
    manager = web.client("data_manager")
    patient = web.patients(OWN)[0]
    version = manager.get(f"/api/v1/patient/{patient}").json()["row_version"]
    deleted = manager.delete(f"/api/v1/patient/{patient}", params={"version": version, "change_reason": "test"})
    assert deleted.status_code in (200, 204), deleted.text
    again = client.get("/dashboard")
    assert len(calls) == 2 and f"{own - 1} patients of your centers" in again.text


def test_dashboard_rates_are_the_reports(web):
    from blinareg.web.dashboard import compute_dashboard

    registry = CenterScope(web.store, [OWN], actor="test").registry()
    board = compute_dashboard(registry)
    results = analysis_results(registry)
    cr = results["response"]["overall"]["cr_achieved"]
    mine = next(r for r in board.response if r.label.startswith("CR/CRh/CRi (best"))
    assert (mine.x, mine.n, mine.lower, mine.upper) == (cr["x"], cr["n"], cr["lower"], cr["upper"])


def test_report_job_runs_in_a_worker_and_its_files_download(web):
    client = web.client("investigator")
    job_id, page = run_report_job(
        client,
        "/reports",
        {"origin": "first_blinatumomab", "sections": ["cohort", "response", "outcomes"], "formats": ["json", "html"]},
    )
    assert f"/reports/{job_id}/files/results.json" in page and f"/reports/{job_id}/files/report.html" in page
    downloaded = client.get(f"/reports/{job_id}/files/results.json")
    assert downloaded.status_code == 200 and downloaded.headers["content-type"].startswith("application/json")
    results = json.loads(downloaded.content)
    assert not re.search(r"SYN-\d{6}", downloaded.text)
    own = len(web.patients(OWN))
    assert results["cohort"]["overall"]["n"] == own  # the user's centers only
    assert client.get(f"/reports/{job_id}/files/report.pdf").status_code == 404  # not asked for
    # Only the owner (and administrators) see a job; another user gets 404 as for an absent job.
    assert web.client("statistician").get(f"/reports/{job_id}").status_code == 404
    assert web.client("statistician").get(f"/reports/{job_id}/files/results.json").status_code == 404
    assert f'href="/reports/{job_id}"' in web.client("administrator").get("/reports").text
    assert f'href="/reports/{job_id}"' not in web.client("statistician").get("/reports").text
    audited = [e for e in web.store.audit_entries(action="report") if e.record_type == "report job"]
    assert audited and audited[-1].actor == "investigator"


def test_report_form_refuses_bad_options_without_starting_a_job(web):
    client = web.client("investigator")
    page = client.post("/reports", data={"origin": "first_blinatumomab", "formats": ["json"]})
    assert page.status_code == 200 and "choose at least one section" in page.text
    page = client.post("/reports", data={"sections": ["cohort"], "formats": ["json"], "config": "landmarks_months = ["})
    assert "not valid TOML" in page.text
    assert ReportJobs(web.store).list() == []


def test_a_job_whose_worker_is_gone_shows_as_interrupted(web):
    jobs = ReportJobs(web.store)
    job = jobs.create(created_by="investigator", centers=(OWN,), freeze_id=None, options={"sections": ["cohort"]})
    dead_pid = _dead_pid()
    jobs.set_worker(job.id, host=report_jobs._HOST, pid=dead_pid)
    jobs.claim(job.id, host=report_jobs._HOST, pid=dead_pid)
    page = web.client("investigator").get(f"/reports/{job.id}")
    assert 'id="job-status">interrupted<' in page.text and "worker process stopped" in page.text


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_freeze_pages_create_verify_and_report_byte_identical_after_edits(web, tmp_path):
    investigator = web.client("investigator")
    made = investigator.post(
        "/freezes",
        data={"name": "interim 2026", "scope": "centers", "centers": [OWN], "as_of": "2026-01-01"},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text[:500]
    freeze_id = int(made.headers["location"].rsplit("/", 1)[1])
    freeze = Freezes(web.store).get(freeze_id)
    assert freeze.centers == (OWN,) and str(freeze.as_of) == "2026-01-01"
    shown = investigator.get(f"/freezes/{freeze_id}")
    assert freeze.content_sha256 in shown.text
    verified = investigator.post(f"/freezes/{freeze_id}/verify")
    assert "Verified" in verified.text
    assert f'href="/freezes/{freeze_id}"' in web.client("statistician").get("/freezes").text
    # Another center than the user's is refused; a freeze with another center is invisible.
    refused = investigator.post("/freezes", data={"name": "x", "scope": "centers", "centers": [OTHER]})
    assert "not one of your centers" in refused.text
    refused = investigator.post("/freezes", data={"name": "x", "scope": "registry"})
    assert "not yours" in refused.text
    other = Freezes(web.store).create("other centers", actor="test", centers=(OTHER,))
    assert investigator.get(f"/freezes/{other.id}").status_code == 404
    assert (
        investigator.post(f"/freezes/{other.id}/report", data={"sections": ["cohort"], "formats": ["json"]}).status_code
        == 404
    )

    options = {
        "origin": "first_blinatumomab",
        "sections": ["cohort", "response", "safety", "outcomes"],
        "formats": ["json"],
    }
    before_id, _ = run_report_job(investigator, f"/freezes/{freeze_id}/report", options)
    before = investigator.get(f"/reports/{before_id}/files/results.json").content
    assert json.loads(before)["meta"]["freeze"]["content_sha256"] == freeze.content_sha256
    # Later edits of the live records change nothing in the freeze's report.
    manager = web.client("data_manager")
    patient = web.patients(OWN)[0]
    version = manager.get(f"/api/v1/patient/{patient}").json()["row_version"]
    manager.delete(f"/api/v1/patient/{patient}", params={"version": version, "change_reason": "test"})
    after_id, _ = run_report_job(investigator, f"/freezes/{freeze_id}/report", options)
    after = investigator.get(f"/reports/{after_id}/files/results.json").content
    assert after == before
    # ... and it is the command line's report of the same freeze, byte for byte.
    from blinareg.cli.report_commands import run_report

    out = tmp_path / "cli"
    run_report(
        database_url=web.store.settings.url.render_as_string(hide_password=False),
        out_dir=out,
        freeze=freeze_id,
        formats=["json"],
        config_path=_sections_config(tmp_path, options["sections"]),
    )
    assert (out / "results.json").read_bytes() == before


def _sections_config(tmp_path, sections: list[str]):
    path = tmp_path / "report.toml"
    from blinareg.report.config import SECTIONS

    lines = ["[report.sections]"] + [f"{s} = {'true' if s in sections else 'false'}" for s in SECTIONS]
    path.write_text("\n".join(lines) + "\n")
    return path
