"""Federated Cox stratified by center equals R coxph(... + strata(center)) and the patient-level fit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blinareg.errors import UserError
from blinareg.federated import center_contribution, coordinator_round, start_rounds
from blinareg.stats import cox_partial_likelihood, cox_ph

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
DATA = pd.read_csv(REFERENCE / "data" / "federated_cox.csv")
EXPECTED = json.loads((REFERENCE / "federated.json").read_text())


def _fit(ties: str) -> dict:
    state = start_rounds(["x1", "x2"], ties)
    rounds = 0
    while state["status"] == "evaluate":
        contributions = [
            center_contribution(rows, state, center=center, time="t", event="e")
            for center, rows in DATA.groupby("center")
        ]
        state = coordinator_round(json.loads(json.dumps(state)), json.loads(json.dumps(contributions)))
        rounds += 1
    assert rounds == state["result"]["iterations"] + 1  # round 0 (beta = 0) plus one per iteration
    return state


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_federated_stratified_cox_equals_r_coxph(ties):
    state = _fit(ties)
    expected = EXPECTED[ties]
    result = state["result"]
    assert state["status"] == "converged" and result["iterations"] == expected["iterations"]
    coefficients = pd.DataFrame(result["coefficients"])
    assert list(coefficients["covariate"]) == ["x1", "x2"]
    np.testing.assert_allclose(coefficients["coef"], expected["coef"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(coefficients["se"], expected["se"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(result["variance"], expected["variance"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(result["loglik"], expected["loglik"], rtol=1e-12, atol=1e-8)
    assert result["n"] == len(DATA) and result["events"] == int(DATA["e"].sum())


def test_federated_fit_equals_the_patient_level_fit():
    direct = cox_ph(DATA[["x1", "x2"]], DATA["t"], DATA["e"], strata=DATA["center"])
    result = _fit("efron")["result"]
    np.testing.assert_allclose([c["coef"] for c in result["coefficients"]], direct.coef, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(result["loglik"], direct.loglik, rtol=1e-12)


def test_center_sums_add_up_to_the_stratified_likelihood():
    beta = np.array([0.3, -0.2])
    whole = cox_partial_likelihood(DATA[["x1", "x2"]], DATA["t"], DATA["e"], beta, strata=DATA["center"])
    parts = [
        cox_partial_likelihood(rows[["x1", "x2"]], rows["t"], rows["e"], beta) for _, rows in DATA.groupby("center")
    ]
    np.testing.assert_allclose(sum(p[0] for p in parts), whole[0], rtol=1e-13)
    np.testing.assert_allclose(sum(p[1] for p in parts), whole[1], rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(sum(p[2] for p in parts), whole[2], rtol=1e-11)


def test_rounds_cannot_be_mixed_or_edited():
    state = start_rounds(["x1", "x2"])
    contributions = [
        center_contribution(rows, state, center=c, time="t", event="e") for c, rows in DATA.groupby("center")
    ]
    following = coordinator_round(state, contributions)
    with pytest.raises(UserError, match="is for round 0, not round 1"):
        coordinator_round(following, contributions)
    with pytest.raises(UserError, match="more than one contribution"):
        coordinator_round(state, [contributions[0], contributions[0]])
    edited = following | {"history": [following["history"][0] | {"beta": [1.0, 1.0]}]}
    with pytest.raises(UserError, match="does not replay"):
        coordinator_round(
            edited,
            [center_contribution(rows, edited, center=c, time="t", event="e") for c, rows in DATA.groupby("center")],
        )
    with pytest.raises(UserError, match=r"C01: columns \['x3'\] are missing"):
        center_contribution(DATA, start_rounds(["x1", "x3"]), center="C01", time="t", event="e")
    with pytest.raises(UserError, match="--covariates"):
        start_rounds(["x1", "x1"])
