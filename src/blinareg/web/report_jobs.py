"""Reports from the browser, run as background jobs in a separate process.

The page stores a job (`blinareg.store.report_jobs`) and starts `python -m blinareg.web.report_jobs JOB`
(a process of its own: the report's CPU never holds up the server's pages); the worker reads the records
the job may read (the asking user's centers, or an analysis freeze visible to them), derives the
analysis dataset, builds and writes the report exactly as `blinareg report` does (same configuration
handling, same provenance for a freeze, so a freeze's report is byte-identical to the command line's),
reports its progress after each figure and file, and stores the files in the database.

The server keeps a thread per started worker that waits for it: a worker that ends without ending its
job (killed, out of memory) leaves the job `failed` with its exit code, and a job whose worker is gone
after a server restart is shown `interrupted` (`ReportJobs.mark_lost`).
"""

from __future__ import annotations

import dataclasses
import io
import os
import socket
import subprocess
import sys
import tempfile
import threading
import tomllib
import zipfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from blinareg.errors import UserError
from blinareg.records.registry import Registry
from blinareg.store import Store
from blinareg.store.report_jobs import ReportJob, ReportJobs

__all__ = ["job_options", "start_job", "run_job", "report_config", "FILE_TYPES", "mark_lost_jobs"]

REPORT_FORMATS = ("html", "pdf", "docx", "json", "figures")
REPORT_SECTIONS = ("cohort", "exposure", "response", "safety", "outcomes", "models", "courses", "text")
# The choices of the form's split ("by") and subgroup: patient variables of the analysis dataset.
SPLIT_CHOICES = (
    "indication_group",
    "relapse_status_at_blinatumomab",
    "relapse_site_class",
    "relapse_timing",
    "bfm_strategic_group",
    "intreall_risk",
    "sex",
    "center_id",
)
INDICATION_GROUPS = (
    "mrd_clearance",
    "chemotherapy_intolerance",
    "relapsed_refractory",
    "consolidation",
    "bridging_to_hsct",
)
ORIGIN_CHOICES = ("first_blinatumomab", "hsct", "diagnosis", "relapse")
FILE_TYPES = {
    "report.html": "text/html; charset=utf-8",
    "report.pdf": "application/pdf",
    "report.docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "results.json": "application/json",
    "figures.zip": "application/zip",
}
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_HOST = socket.gethostname()
_REAPERS: list[threading.Thread] = []


def job_options(form: Mapping[str, Any]) -> dict[str, Any]:
    """The job's options from the report form (the values, checked); UserError names the bad field."""
    origin = str(form.get("origin") or "first_blinatumomab")
    if origin not in ORIGIN_CHOICES:
        raise UserError(f"origin: choose one of {', '.join(ORIGIN_CHOICES)}, not {origin!r}")
    split = str(form.get("by") or "") or None
    if split is not None and split not in SPLIT_CHOICES:
        raise UserError(f"split by: choose one of {', '.join(SPLIT_CHOICES)}, not {split!r}")
    subgroup = str(form.get("subgroup") or "") or None
    if subgroup is not None and subgroup not in INDICATION_GROUPS:
        raise UserError(f"subgroup: choose an indication group ({', '.join(INDICATION_GROUPS)}), not {subgroup!r}")
    sections = [s for s in REPORT_SECTIONS if s in _many(form, "sections")]
    if not sections:
        raise UserError("sections: choose at least one section of the report")
    formats = [f for f in REPORT_FORMATS if f in _many(form, "formats")]
    if not formats:
        raise UserError("formats: choose at least one file to write (HTML, PDF, DOCX, results.json, figures)")
    config_text = str(form.get("config") or "").strip()
    options = {
        "origin": origin,
        "by": split,
        "subgroup": subgroup,
        "sections": sections,
        "formats": formats,
        "config": config_text,
    }
    report_config(options)  # a bad report.toml is refused now, not in the background
    return options


def _many(form: Mapping[str, Any], name: str) -> list[str]:
    value = form.get(name)
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def report_config(options: Mapping[str, Any]) -> Any:
    """The ReportConfig of a job: its report.toml text (if any), then the form's origin, split and sections."""
    from blinareg.report.config import ReportConfig

    text = str(options.get("config") or "")
    if text:
        try:
            config = ReportConfig.from_toml_mapping(tomllib.loads(text))
        except tomllib.TOMLDecodeError as error:
            raise UserError(f"report.toml: not valid TOML: {error}") from None
    else:
        config = ReportConfig()
    return config.with_options(
        origin=options.get("origin"), by=options.get("by"), sections=frozenset(options.get("sections") or ())
    )


# -- the server side: start a worker and watch it --

# The worker's niceness (POSIX): the scheduler gives the server's request handlers the CPU first.
REPORT_WORKER_NICENESS = 10


def start_job(store: Store, job: ReportJob) -> None:
    """Start the worker process of a queued job, and a thread that waits for it."""
    env = dict(os.environ)
    env["BLINAREG_DATABASE_URL"] = store.settings.url.render_as_string(
        hide_password=False
    )  # the environment, not argv: no password in `ps`
    env.setdefault("MPLBACKEND", "Agg")
    process = subprocess.Popen(
        [sys.executable, "-m", "blinareg.web.report_jobs", str(job.id)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a server stopped with Ctrl-C does not kill a half-written report's worker
    )
    jobs = ReportJobs(store)
    jobs.set_worker(job.id, host=_HOST, pid=process.pid)
    reaper = threading.Thread(target=_wait_for, args=(jobs, job.id, process), daemon=True, name=f"report-job-{job.id}")
    reaper.start()
    _REAPERS.append(reaper)


def _wait_for(jobs: ReportJobs, job_id: int, process: subprocess.Popen[bytes]) -> None:
    _, errors = process.communicate()
    if process.returncode != 0:
        last = (errors or b"").decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        try:
            jobs.fail(job_id, f"the report worker stopped with exit code {process.returncode}: {last[0][:500]}")
        except Exception:  # noqa: BLE001 - the store may be closed when the server stops
            pass


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_lost_jobs(store: Store) -> list[int]:
    """Jobs of this host whose worker is gone are marked interrupted (run when pages list jobs)."""
    return ReportJobs(store).mark_lost(host=_HOST, alive=_process_alive)


# -- the worker side --


def _records(store: Store, job: ReportJob) -> tuple[Registry, Any, dict[str, Any]]:
    """The records the job may read, their data cut-off and what the report cites about them."""
    from blinareg.cli.report_commands import _records_and_provenance  # one implementation of the provenance
    from blinareg.store.scoped import CenterScope

    if job.freeze_id is not None:
        return _records_and_provenance(store, job.freeze_id)  # type: ignore[no-any-return]
    registry = CenterScope(store, job.centers, actor=job.created_by).registry()
    # Data-query counts are registry-wide, so a center-scoped report does not cite them (as the API's).
    return registry, None, {}


def _subgroup(registry: Registry, dataset: Any, options: Mapping[str, Any], config: Any, as_of: Any) -> Any:
    from blinareg.derive import derive

    subgroup = options.get("subgroup")
    if not subgroup:
        return dataset
    patients = dataset.patients
    ids = patients.loc[patients["indication_group"] == subgroup, "patient_id"]
    if ids.empty:
        raise UserError(f"no patient in the subgroup indication group = {subgroup}")
    # Derived again from the subgroup's records, so that accrual dates and cut-off are the subgroup's own.
    return derive(registry.subset(ids), origin=config.origin, non_responder=config.non_responder, as_of=as_of)


def run_job(store: Store, job_id: int) -> None:
    """Run one queued job to its end (done or failed)."""
    jobs = ReportJobs(store)
    if not jobs.claim(job_id, host=_HOST, pid=os.getpid()):
        return
    job = jobs.get(job_id)
    try:
        files = _build(store, jobs, job)
    except UserError as error:
        jobs.fail(job_id, str(error))
        return
    except Exception as error:  # noqa: BLE001 - an unexpected error still ends the job, with its type
        jobs.fail(job_id, f"unexpected error: {type(error).__name__}: {error}")
        raise
    jobs.finish(job_id, files)


def _build(store: Store, jobs: ReportJobs, job: ReportJob) -> dict[str, bytes]:
    from blinareg.cli.report_commands import _write_with_progress
    from blinareg.derive import derive
    from blinareg.report import build_report

    def update(stage: str, done: int, total: int) -> None:
        jobs.progress(job.id, stage, done, total)

    options = job.options
    config = report_config(options)
    update("loading", 0, 1)
    registry, as_of, provenance = _records(store, job)
    if registry["patient"].empty:
        raise UserError("no patients to report")
    update("deriving", 0, 1)
    dataset = derive(registry, origin=config.origin, non_responder=config.non_responder, as_of=as_of)
    dataset = _subgroup(registry, dataset, options, config, as_of)
    dataset = dataclasses.replace(dataset, metadata=MappingProxyType({**dataset.metadata, **provenance}))
    update("analysing", 0, 1)
    report = build_report(dataset, config)
    with tempfile.TemporaryDirectory(prefix="blinareg-job-") as work:
        out = Path(work) / "report"
        _write_with_progress(report, out, list(options["formats"]), update)
        return collect_files(out)


def collect_files(out: Path) -> dict[str, bytes]:
    """The written report's files by download name; the figures folder as one zip (fixed entry times)."""
    files = {path.name: path.read_bytes() for path in sorted(out.iterdir()) if path.is_file()}
    figures = out / "figures"
    if figures.is_dir():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in figures.rglob("*") if p.is_file()):
                info = zipfile.ZipInfo(f"figures/{path.relative_to(figures).as_posix()}", date_time=_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, path.read_bytes())
        files["figures.zip"] = buffer.getvalue()
    return files


def _yield_cpu_to_the_pages() -> None:
    """Run the report at a lower CPU priority than the server, so pages stay quick while a report runs."""
    if hasattr(os, "nice"):
        try:
            os.nice(REPORT_WORKER_NICENESS)
        except OSError:  # not permitted here: the report still runs, at the server's priority
            pass


def main(argv: list[str] | None = None) -> int:
    """`python -m blinareg.web.report_jobs JOB_ID` (the database from $BLINAREG_DATABASE_URL)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m blinareg.web.report_jobs JOB_ID", file=sys.stderr)
        return 2
    os.environ.setdefault("MPLBACKEND", "Agg")
    _yield_cpu_to_the_pages()
    store = Store.open()
    try:
        run_job(store, int(args[0]))
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
