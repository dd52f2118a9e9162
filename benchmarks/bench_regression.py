"""Regression benchmarks: Cox (Efron, 5 covariates) and Fine-Gray (2 covariates) against peers.

Each implementation runs in its own subprocess on the same synthetic data (benchmarks/_data.py):
`seconds` times only the fit (data generation and conversion excluded; for R, `system.time` around
the call), `peak_mb` is the subprocess's peak resident memory (data + interpreter included).
A peer that would take many minutes is skipped, with the reason in `note`.

Run directly for a quick table:  .venv/bin/python benchmarks/bench_regression.py [--quick] [--no-r]
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _data import make_data  # noqa: E402

TIMEOUT_SECONDS = 900
# A peer is skipped at a size where its time, extrapolated linearly from the previous size with a
# 1.5x margin, exceeds this budget.
PEER_BUDGET_SECONDS = 300.0
# crr's Fortran is O(n^2) per likelihood evaluation and about O(n^3) for its variance (2.7 s at
# n = 3,000, 100 s at n = 10,000 on this machine): it is run at these sizes only.
CRR_SIZES = (3_000, 10_000)

_PY_PRELUDE = textwrap.dedent(
    """
    import json, resource, sys, time
    import numpy as np
    sys.path.insert(0, {here!r})
    from _data import make_data
    d = make_data({n}, {ties!r})
    X = d["X"]
    """
)

_PY_FITS = {
    "blinareg cox_ph": """
from blinareg.stats import cox_ph
start = time.perf_counter(); fit = cox_ph(X, d["time"], d["event"], ties="efron")
seconds = time.perf_counter() - start
""",
    "lifelines CoxPHFitter": """
import pandas as pd
from lifelines import CoxPHFitter
df = pd.DataFrame(X, columns=[f"x{j}" for j in range(5)]); df["time"] = d["time"]; df["event"] = d["event"]
start = time.perf_counter(); CoxPHFitter().fit(df, "time", "event")
seconds = time.perf_counter() - start
""",
    "statsmodels PHReg": """
from statsmodels.duration.hazard_regression import PHReg
start = time.perf_counter(); PHReg(d["time"], X, status=d["event"], ties="efron").fit()
seconds = time.perf_counter() - start
""",
    "scikit-survival CoxPHSurvivalAnalysis": """
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.util import Surv
y = Surv.from_arrays(d["event"].astype(bool), d["time"])
start = time.perf_counter(); CoxPHSurvivalAnalysis(ties="efron").fit(X, y)
seconds = time.perf_counter() - start
""",
    "blinareg fine_gray": """
from blinareg.stats import fine_gray
start = time.perf_counter(); fine_gray(X[:, :2], d["time"], d["cause"], cause=1)
seconds = time.perf_counter() - start
""",
}

_PY_EPILOGUE = """
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_R_FITS = {
    "R survival::coxph": (
        "suppressPackageStartupMessages(library(survival))",
        'st <- system.time(fit <- coxph(Surv(time, event) ~ X, ties = "efron"))',
    ),
    "R cmprsk::crr": (
        "suppressPackageStartupMessages(library(cmprsk))",
        "st <- system.time(fit <- crr(time, cause, X[, 1:2], failcode = 1, cencode = 0))",
    ),
}


def _run_python(name: str, n: int, ties: str) -> dict:
    code = _PY_PRELUDE.format(here=str(HERE), n=n, ties=ties) + _PY_FITS[name] + _PY_EPILOGUE
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr else "failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _run_r(name: str, n: int, ties: str) -> dict:
    data = make_data(n, ties)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.bin"
        np.concatenate(
            [data["time"], data["event"].astype(float), data["cause"].astype(float), data["X"].ravel(order="F")]
        ).tofile(path)
        library, fit = _R_FITS[name]
        script = textwrap.dedent(
            f"""
            {library}
            n <- {n}
            v <- readBin("{path}", "double", n * 8)
            time <- v[1:n]; event <- v[n + 1:n]; cause <- v[2 * n + 1:n]
            X <- matrix(v[3 * n + 1:(5 * n)], n, 5)
            {fit}
            peak_kb <- gsub("[^0-9]", "", grep("^VmHWM", readLines("/proc/self/status"), value = TRUE))
            cat(st[["elapsed"]], as.numeric(peak_kb) / 1024, "\\n")
            """
        )
        out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr else "failed")
    seconds, rss = out.stdout.split()[:2]
    return {"seconds": float(seconds), "peak_mb": float(rss)}


def _row(task: str, n: int, ties: str, implementation: str, runner, note: str = "") -> dict:
    try:
        result = runner(implementation, n, ties)
        return {
            "task": task,
            "n": n,
            "ties": ties,
            "implementation": implementation,
            "seconds": result["seconds"],
            "peak_mb": result["peak_mb"],
            "note": note,
        }
    except subprocess.TimeoutExpired:
        return {
            "task": task,
            "n": n,
            "ties": ties,
            "implementation": implementation,
            "seconds": None,
            "peak_mb": None,
            "note": f"skipped: over {TIMEOUT_SECONDS} s",
        }
    except RuntimeError as error:
        return {
            "task": task,
            "n": n,
            "ties": ties,
            "implementation": implementation,
            "seconds": None,
            "peak_mb": None,
            "note": f"failed: {error}",
        }


def _skipped(task: str, n: int, ties: str, implementation: str, note: str) -> dict:
    return {
        "task": task,
        "n": n,
        "ties": ties,
        "implementation": implementation,
        "seconds": None,
        "peak_mb": None,
        "note": note,
    }


def run(sizes: list[int], *, quick: bool, with_r: bool) -> list[dict]:
    """Benchmark rows for Cox (Efron, 5 covariates) at `sizes` and Fine-Gray (2 covariates).

    quick: only continuous times, Python peers only at the smallest size. Fine-Gray runs at
    min(sizes) for ours; crr (hours at 1e5) is compared at CRR_SIZES.
    """
    have_r = with_r and shutil.which("Rscript") is not None
    ties_options = ("continuous",) if quick else ("continuous", "whole days")
    rows: list[dict] = []
    cox_task = "Cox PH (Efron, 5 covariates)"
    for ties in ties_options:
        for n in sizes:
            rows.append(_row(cox_task, n, ties, "blinareg cox_ph", _run_python))
            for peer in ("lifelines CoxPHFitter", "statsmodels PHReg", "scikit-survival CoxPHSurvivalAnalysis"):
                previous = [
                    r for r in rows if r["implementation"] == peer and r["ties"] == ties and r["seconds"] is not None
                ]
                estimate = previous[-1]["seconds"] * n / previous[-1]["n"] * 1.5 if previous else 0.0
                if quick and n != min(sizes):
                    rows.append(_skipped(cox_task, n, ties, peer, "skipped in --quick"))
                elif estimate > PEER_BUDGET_SECONDS:
                    rows.append(
                        _skipped(
                            cox_task,
                            n,
                            ties,
                            peer,
                            f"skipped: about {estimate:.0f} s expected from n={previous[-1]['n']}",
                        )
                    )
                else:
                    rows.append(_row(cox_task, n, ties, peer, _run_python))
            if have_r:
                rows.append(_row(cox_task, n, ties, "R survival::coxph", _run_r, "system.time of coxph()"))
    fg_task = "Fine-Gray (2 covariates)"
    fg_n = min(sizes)
    for ties in ties_options:
        rows.append(
            _row(
                fg_task,
                fg_n,
                ties,
                "blinareg fine_gray",
                _run_python,
                "lifelines and scikit-survival have no Fine-Gray regression",
            )
        )
        if have_r:
            rows.append(
                _skipped(
                    fg_task,
                    fg_n,
                    ties,
                    "R cmprsk::crr",
                    f"skipped: O(n^2)-O(n^3) Fortran, hours at this size; see n={CRR_SIZES} rows",
                )
            )
            for small in CRR_SIZES[: 1 if quick else None]:
                rows.append(_row(fg_task, small, ties, "blinareg fine_gray", _run_python))
                rows.append(_row(fg_task, small, ties, "R cmprsk::crr", _run_r, "system.time of crr()"))
    return rows


def _print(rows: list[dict]) -> None:
    header = f"{'task':32s} {'n':>9s} {'ties':11s} {'implementation':40s} {'seconds':>9s} {'peak MB':>8s}  note"
    print(header)
    print("-" * len(header))
    for r in rows:
        seconds = "-" if r["seconds"] is None else f"{r['seconds']:.3f}"
        peak = "-" if r["peak_mb"] is None else f"{r['peak_mb']:.0f}"
        print(
            f"{r['task']:32s} {r['n']:>9d} {r['ties']:11s} {r['implementation']:40s} {seconds:>9s} {peak:>8s}  {r['note']}"
        )


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    sizes = [10**5] if quick else [10**5, 10**6]
    _print(run(sizes, quick=quick, with_r="--no-r" not in sys.argv))
