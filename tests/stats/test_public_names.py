"""Every public name of `blinareg.stats` is the function or class, whatever was imported before."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import numpy as np
import pytest

import blinareg.stats


def test_public_names_are_callables_after_every_submodule_was_imported() -> None:
    # Import every submodule first (the order that once turned `fine_gray` into a module), then check.
    for module in pkgutil.iter_modules(blinareg.stats.__path__):
        importlib.import_module(f"blinareg.stats.{module.name}")
    for name in blinareg.stats.__all__:
        value = getattr(blinareg.stats, name)
        assert not inspect.ismodule(value), f"blinareg.stats.{name} is a module"
        assert callable(value), f"blinareg.stats.{name} is not callable"


def test_no_submodule_shares_a_public_name() -> None:
    submodules = {module.name for module in pkgutil.iter_modules(blinareg.stats.__path__)}
    assert not submodules & set(blinareg.stats.__all__)


def test_from_import_in_a_fresh_interpreter_after_submodule_import() -> None:
    code = (
        "import blinareg.stats._fine_gray, blinareg.stats._cox, blinareg.stats._kaplan_meier\n"
        "from blinareg.stats import fine_gray, cox_ph, kaplan_meier\n"
        "assert all(callable(f) and not hasattr(f, '__path__') and type(f).__name__ == 'function'"
        " for f in (fine_gray, cox_ph, kaplan_meier))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_result_arrays_are_read_only() -> None:
    time = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    event = np.array([1, 0, 1, 1, 0, 1, 1, 0])
    x = np.array([0.5, 1.5, -0.3, 2.0, 0.1, -1.0, 0.7, 1.1])
    group = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    cox = blinareg.stats.cox_ph(x, time, event)
    logrank = blinareg.stats.logrank_test(time, event, group)
    for array in (
        cox.coef,
        cox.se,
        cox.hazard_ratio,
        cox.variance,
        cox.coefficients.p_value,
        logrank.observed,
        logrank.variance,
    ):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0.0
    assert isinstance(logrank, blinareg.stats.ChiSquareTest)


@pytest.mark.parametrize(
    "module", ["_kaplan_meier", "_logrank", "_competing_risks", "_cox", "_fine_gray", "_binomial", "_rmst"]
)
def test_docstring_examples_hold(module: str) -> None:
    import doctest

    loaded = importlib.import_module(f"blinareg.stats.{module}")
    result = doctest.testmod(loaded, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_public_estimators_have_numpydoc_sections() -> None:
    for name in (
        "kaplan_meier",
        "median_followup",
        "logrank_test",
        "cumulative_incidence",
        "gray_test",
        "cox_ph",
        "fine_gray",
        "binomial_ci",
        "rmst",
    ):
        doc = inspect.getdoc(getattr(blinareg.stats, name)) or ""
        for section in ("Parameters\n----------", "Returns\n-------", "References\n----------", "Examples\n--------"):
            assert section in doc, f"{name}: no {section.splitlines()[0]} section"
