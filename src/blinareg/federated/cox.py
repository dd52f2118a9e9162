"""Cox regression stratified by center, fitted over files: only likelihood sums leave a center.

The stratified partial likelihood is a product over strata, so its log, score and information are
sums over centers. Each round:

1. the coordinator's round file holds the coefficients to evaluate (`start_rounds` writes round 0,
   beta = 0, as coxph starts);
2. every center evaluates its log partial likelihood, score and information there
   (`center_contribution`, Efron ties as R's default; strata = the center, or the center's own strata);
3. the coordinator sums them and takes one step of the same Newton-Raphson iteration as
   `blinareg.stats.cox_ph` (`coordinator_round`): it replays the iteration over every round's sums so
   far, so the fit is exactly coxph's, with its step halving and convergence rule. The new round
   file holds either the next coefficients or, once converged, the fitted model.

A contribution discloses p + p(p+1)/2 + 1 sums per round, the center's patient and event counts, and
nothing per patient. Every file carries the round number and the coefficients it belongs to, so
files of different rounds cannot be mixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from blinareg.errors import UserError
from blinareg.stats import CoefficientTable, cox_partial_likelihood
from blinareg.stats._cox import newton_raphson

__all__ = ["COX_SCHEMA", "center_contribution", "coordinator_round", "start_rounds"]

COX_SCHEMA = "blinareg.federated.cox"
SCHEMA_VERSION = 1


def start_rounds(covariates: Sequence[str], ties: str = "efron", conf_level: float = 0.95) -> dict[str, Any]:
    """Round 0: the coefficients (zeros) every center evaluates first."""
    names = [str(name) for name in covariates]
    if not names or len(set(names)) != len(names):
        raise UserError(f"--covariates: give distinct covariate names, got {names}")
    if ties not in ("efron", "breslow"):
        raise UserError(f"--ties: {ties!r} is not efron or breslow")
    return {
        "schema": COX_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "kind": "round",
        "round": 0,
        "covariates": names,
        "ties": ties,
        "conf_level": conf_level,
        "beta": [0.0] * len(names),
        "history": [],
        "status": "evaluate",
    }


def _check_round(state: dict[str, Any], source: str) -> None:
    if not isinstance(state, dict) or state.get("schema") != COX_SCHEMA or state.get("kind") != "round":
        raise UserError(f"{source}: not a federated Cox round file (schema {COX_SCHEMA!r})")
    if state.get("schema_version") != SCHEMA_VERSION:
        raise UserError(
            f"{source}: schema version {state.get('schema_version')!r}; this version reads {SCHEMA_VERSION}"
        )


def center_contribution(
    frame: pd.DataFrame,
    state: dict[str, Any],
    *,
    center: str,
    time: str = "time",
    event: str = "event",
    strata: str | None = None,
) -> dict[str, Any]:
    """One center's log partial likelihood, score and information at the round's coefficients.

    `frame`: the center's patient rows with columns `time`, `event` (0/1) and the covariates; `strata`
    (optional) a column of the center's own strata (else the center is one stratum).
    """
    _check_round(state, "--coef")
    if state["status"] != "evaluate":
        raise UserError("--coef: the fit has finished; there is nothing more to evaluate")
    names = state["covariates"]
    missing = [name for name in [time, event, *names, *([strata] if strata else [])] if name not in frame.columns]
    if missing:
        raise UserError(f"{center}: columns {missing} are missing from the center's data")
    values = frame[[time, event, *names]]
    if values.isna().any().any():
        column = values.columns[values.isna().any()][0]
        row = int(np.flatnonzero(values[column].isna().to_numpy())[0])
        raise UserError(
            f"{center}: column {column!r} has missing values (first at row {row + 1}); a Cox model needs them all"
        )
    loglik, score, information = cox_partial_likelihood(
        frame[names].to_numpy(dtype=np.float64),
        frame[time].to_numpy(dtype=np.float64),
        frame[event].to_numpy(),
        np.asarray(state["beta"], dtype=np.float64),
        strata=None if strata is None else frame[strata].to_numpy(),
        ties=state["ties"],
    )
    return {
        "schema": COX_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "kind": "contribution",
        "discloses": (
            "The log partial likelihood, its gradient and Hessian at the coordinator's coefficients, and the "
            "numbers of patients and events of this center; nothing per patient."
        ),
        "center": center,
        "round": state["round"],
        "beta": state["beta"],
        "n": int(len(frame)),
        "events": int(frame[event].sum()),
        "loglik": loglik,
        "score": score.tolist(),
        "information": information.tolist(),
    }


def _summed(state: dict[str, Any], contributions: Sequence[dict[str, Any]]) -> dict[str, Any]:
    centers = [str(c.get("center")) for c in contributions]
    if len(set(centers)) != len(centers):
        raise UserError(f"step: a center sent more than one contribution ({centers})")
    for contribution in contributions:
        if contribution.get("schema") != COX_SCHEMA or contribution.get("kind") != "contribution":
            raise UserError(f"step: {contribution.get('center')!r} is not a federated Cox contribution")
        if contribution["round"] != state["round"] or contribution["beta"] != state["beta"]:
            raise UserError(
                f"step: the contribution of {contribution['center']!r} is for round {contribution['round']}, "
                f"not round {state['round']}"
            )
    if state["history"] and sorted(centers) != state["history"][0]["centers"]:
        raise UserError(f"step: centers {sorted(centers)} differ from round 0's {state['history'][0]['centers']}")
    p = len(state["covariates"])
    return {
        "beta": state["beta"],
        "centers": sorted(centers),
        "n": sum(c["n"] for c in contributions),
        "events": sum(c["events"] for c in contributions),
        "loglik": float(sum(c["loglik"] for c in contributions)),
        "score": np.sum([c["score"] for c in contributions], axis=0).reshape(p).tolist(),
        "information": np.sum([c["information"] for c in contributions], axis=0).reshape(p, p).tolist(),
    }


def coordinator_round(state: dict[str, Any], contributions: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The next round file: the summed contributions appended, then the next coefficients or the fit."""
    _check_round(state, "--coef")
    if state["status"] != "evaluate":
        raise UserError("--coef: the fit has finished already")
    if not contributions:
        raise UserError("step: no center contributions given")
    history = [*state["history"], _summed(state, contributions)]
    if history[-1]["events"] == 0:
        raise UserError("step: no events in any center; a Cox model needs at least one")
    steps = newton_raphson(len(state["covariates"]))
    beta = next(steps)
    for record in history:
        if not np.array_equal(beta, np.asarray(record["beta"])):
            raise UserError("step: the round history does not replay (a round file was edited)")
        sums = (record["loglik"], np.asarray(record["score"]), np.asarray(record["information"]), None)
        try:
            beta = steps.send(sums)
        except StopIteration as finished:
            return _finished(state, history, finished.value)
    return state | {"round": state["round"] + 1, "beta": beta.tolist(), "history": history}


def _finished(state: dict[str, Any], history: list[dict[str, Any]], fit: Any) -> dict[str, Any]:
    variance = np.linalg.inv(fit.information)
    variance = (variance + variance.T) / 2.0
    table = CoefficientTable.from_estimates(
        tuple(state["covariates"]), fit.beta, np.sqrt(np.diag(variance)), state["conf_level"]
    )
    frame = table.to_frame().reset_index()
    return state | {
        "round": state["round"] + 1,
        "status": "converged" if not fit.ran_out else "not_converged",
        "beta": fit.beta.tolist(),
        "history": history,
        "result": {
            "model": f"Cox, strata = center, ties = {state['ties']}",
            "centers": history[0]["centers"],
            "n": history[0]["n"],
            "events": history[0]["events"],
            "loglik": [fit.loglik_null, fit.loglik],
            "iterations": fit.iterations,
            "variance": variance.tolist(),
            "coefficients": frame.to_dict("records"),
        },
    }
