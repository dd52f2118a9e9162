"""Timings of blinareg's non-parametric estimators against Python peers, R, and a bare sort.

Used by benchmarks/stats_bench.py through `run(sizes, quick=, with_r=) -> list[dict]`; each row has
task, n, ties, implementation, seconds, peak_mb (or None) and note. Rows with implementation
"np.argsort" / "np.sort" time one sort of the same times; the runner divides by them.
"""

from __future__ import annotations

import gc
import json
import shutil
import subprocess
import tempfile
import time as clock
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

try:
    from benchmarks._data import TIES, make_data
except ImportError:  # run as a script from benchmarks/
    from _data import TIES, make_data

KM = "Kaplan-Meier + log-log CI"
LOGRANK = "log-rank, 2 groups"
AJ = "Aalen-Johansen CIF + variance"
GRAY = "Gray's test, 2 groups"
SORT = "sort of the times"

# A peer is skipped above this n when one run would obviously take minutes (measured on this machine).
PEER_LIMITS = {
    ("lifelines", KM): 10**7,
    ("lifelines", LOGRANK): 10**7,
    ("lifelines", AJ): 10**5,
    ("scikit-survival", KM): 10**6,
    ("scikit-survival", LOGRANK): 10**6,
    ("scikit-survival", AJ): 10**6,
    ("statsmodels", AJ): 10**7,
}
# scikit-survival's Aalen-Johansen variance builds (causes x m x m) arrays over the m distinct times.
QUADRATIC_MEMORY = {("scikit-survival", AJ)}
QUADRATIC_LIMIT = 2 * 10**4


def _best_time(function: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = clock.perf_counter()
        function()
        best = min(best, clock.perf_counter() - start)
    return best


def _peak_mb(function: Callable[[], object]) -> float:
    """Peak memory allocated while `function` runs (tracemalloc; NumPy reports its buffers to it)."""
    gc.collect()
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _ours(data: dict) -> dict[str, Callable[[], object]]:
    from blinareg.stats import cumulative_incidence, gray_test
    from blinareg.stats import kaplan_meier
    from blinareg.stats import logrank_test

    t, e, c, g = data["time"], data["event"], data["cause"], data["group"]
    return {
        KM: lambda: kaplan_meier(t, e),
        LOGRANK: lambda: logrank_test(t, e, g),
        AJ: lambda: cumulative_incidence(t, c, cause=1),
        GRAY: lambda: gray_test(t, c, g, cause=1),
    }


def _peers(data: dict) -> dict[tuple[str, str], Callable[[], object]]:
    t, e, c, g = data["time"], data["event"], data["cause"], data["group"]
    peers: dict[tuple[str, str], Callable[[], object]] = {}
    try:
        from statsmodels.duration.survfunc import CumIncidenceRight, SurvfuncRight, survdiff

        peers[("statsmodels", KM)] = lambda: SurvfuncRight(t, e)
        peers[("statsmodels", LOGRANK)] = lambda: survdiff(t, e, g)
        peers[("statsmodels", AJ)] = lambda: CumIncidenceRight(t, c)
    except ImportError:
        pass
    try:
        from lifelines import AalenJohansenFitter, KaplanMeierFitter
        from lifelines.statistics import logrank_test as lifelines_logrank

        first = g == 0
        peers[("lifelines", KM)] = lambda: KaplanMeierFitter().fit(t, e)
        peers[("lifelines", LOGRANK)] = lambda: lifelines_logrank(t[first], t[~first], e[first], e[~first])
        peers[("lifelines", AJ)] = lambda: AalenJohansenFitter(calculate_variance=True, seed=0).fit(
            t, c, event_of_interest=1
        )
    except ImportError:
        pass
    try:
        from sksurv.compare import compare_survival
        from sksurv.nonparametric import kaplan_meier_estimator

        event_bool = e.astype(bool)

        def sksurv_logrank():
            y = np.empty(t.shape[0], dtype=[("event", bool), ("time", float)])
            y["event"], y["time"] = event_bool, t
            return compare_survival(y, g)

        peers[("scikit-survival", KM)] = lambda: kaplan_meier_estimator(event_bool, t, conf_type="log-log")
        peers[("scikit-survival", LOGRANK)] = sksurv_logrank
        try:
            from sksurv.nonparametric import cumulative_incidence_competing_risks

            peers[("scikit-survival", AJ)] = lambda: cumulative_incidence_competing_risks(c, t, conf_type="log-log")
        except ImportError:
            pass
    except ImportError:
        pass
    return peers


R_SCRIPT = r"""
suppressPackageStartupMessages({library(survival); library(cmprsk)})
args <- commandArgs(trailingOnly = TRUE)
n <- as.integer(args[2]); repeats <- as.integer(args[3])
con <- file(args[1], "rb"); x <- readBin(con, "double", 4 * n); close(con)
time <- x[1:n]; event <- x[(n + 1):(2 * n)]; cause <- x[(2 * n + 1):(3 * n)]; group <- x[(3 * n + 1):(4 * n)]
best <- function(expr) {
  f <- function() eval(expr, envir = parent.frame(3))
  min(sapply(seq_len(repeats), function(i) { gc(); system.time(f())[["elapsed"]] }))
}
out <- c(
  km = best(quote(survfit(Surv(time, event) ~ 1, conf.type = "log-log"))),
  logrank = best(quote(survdiff(Surv(time, event) ~ group))),
  aj = best(quote(cuminc(time, cause))),
  gray = best(quote(cuminc(time, cause, group)))
)
cat(sprintf("%s=%.6f\n", names(out), out), sep = "")
"""


def _r_times(data: dict, repeats: int) -> dict[str, float] | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    n = data["time"].shape[0]
    with tempfile.TemporaryDirectory() as tmp:
        binary = Path(tmp) / "data.bin"
        stacked = np.concatenate([data["time"], data["event"], data["cause"], data["group"]]).astype(np.float64)
        stacked.tofile(binary)
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT)
        done = subprocess.run(
            [rscript, str(script), str(binary), str(n), str(repeats)], capture_output=True, text=True, timeout=3600
        )
    if done.returncode != 0:
        warnings.warn(f"R benchmark failed: {done.stderr.strip()[-300:]}", stacklevel=2)
        return None
    values = dict(line.split("=") for line in done.stdout.split() if "=" in line)
    return {
        KM: float(values["km"]),
        LOGRANK: float(values["logrank"]),
        AJ: float(values["aj"]),
        GRAY: float(values["gray"]),
    }


def _row(task, n, ties, implementation, seconds, peak_mb=None, note=""):
    return {
        "task": task,
        "n": n,
        "ties": ties,
        "implementation": implementation,
        "seconds": seconds,
        "peak_mb": peak_mb,
        "note": note,
    }


def run(sizes: list[int], *, quick: bool, with_r: bool) -> list[dict]:
    rows: list[dict] = []
    warm = make_data(2000, "continuous", seed=1)
    for function in [*_ours(warm).values(), *_peers(warm).values()]:
        function()  # imports, first-call caches
    for n in sizes:
        repeats = 1 if quick else (5 if n <= 10**5 else 3 if n <= 10**6 else 2)
        peer_repeats = 1 if quick or n >= 10**6 else 3
        for ties in TIES:
            data = make_data(n, ties)
            t = data["time"]
            rows.append(_row(SORT, n, ties, "np.argsort", _best_time(lambda: np.argsort(t), repeats)))
            rows.append(_row(SORT, n, ties, "np.sort", _best_time(lambda: np.sort(t), repeats)))
            for task, function in _ours(data).items():
                seconds = _best_time(function, repeats)
                peak = _peak_mb(function) if not quick or n <= 10**6 else None
                rows.append(_row(task, n, ties, "blinareg", seconds, peak, f"best of {repeats}"))
            for (library, task), function in _peers(data).items():
                limit = PEER_LIMITS.get((library, task))
                if limit is not None and n > limit:
                    rows.append(_row(task, n, ties, library, None, None, "skipped: would take minutes"))
                    continue
                if (library, task) in QUADRATIC_MEMORY and np.unique(t).size > QUADRATIC_LIMIT:
                    rows.append(_row(task, n, ties, library, None, None, "skipped: memory quadratic in distinct times"))
                    continue
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    seconds = _best_time(function, peer_repeats)
                rows.append(_row(task, n, ties, library, seconds, None, f"best of {peer_repeats}"))
            for task in (GRAY,):
                rows.append(_row(task, n, ties, "Python peers", None, None, "no Python implementation of Gray's test"))
            if with_r:
                r_repeats = 1 if quick or n >= 10**6 else 3
                r_times = _r_times(data, r_repeats)
                if r_times is None:
                    rows.append(_row(KM, n, ties, "R", None, None, "Rscript not available or failed"))
                else:
                    notes = {AJ: "cuminc (no groups)", GRAY: "cuminc with group: curves + test"}
                    for task, seconds in r_times.items():
                        rows.append(
                            _row(
                                task,
                                n,
                                ties,
                                "R",
                                seconds,
                                None,
                                f"system.time, best of {r_repeats}; " + notes.get(task, ""),
                            )
                        )
            del data
            gc.collect()
    return rows


if __name__ == "__main__":
    print(json.dumps(run([10**4], quick=True, with_r=False), indent=1))
