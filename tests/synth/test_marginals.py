"""Marginal distributions of a 20,000-patient synthetic cohort against the published figures (seeds)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from blinareg.records import Severity, validate
from blinareg.rules import relapse_timing
from blinareg.stats import kaplan_meier
from blinareg.synth import generate

N = 20_000


@pytest.fixture(scope="module")
def cohort():
    registry = generate(N, seed=2024)
    lines = registry["treatment_line"]
    group = lines[lines["treatment_type"] == "blinatumomab"].set_index("patient_id")["intent"]
    first = registry["blinatumomab_cycle"].groupby("patient_id")["start_date"].min()
    return registry, group, first


def _site_label(frame: pd.DataFrame) -> pd.Series:
    parts = []
    for marrow, cns, testis, other in zip(
        frame["site_bone_marrow"], frame["site_cns"], frame["site_testis"], frame["site_other_extramedullary"]
    ):
        names = [name for flag, name in ((marrow, "BM"), (cns, "CNS"), (testis, "testis"), (other, "other EM")) if flag]
        parts.append("+".join(names))
    return pd.Series(parts, index=frame.index)


def _relapses_before(registry, first):
    relapses = registry["relapse"]
    return relapses[relapses["relapse_date"] < relapses["patient_id"].map(first)]


def test_the_large_cohort_validates(cohort):
    registry, _, _ = cohort
    problems = validate(registry)
    assert [str(p) for p in problems if p.severity is Severity.ERROR] == []
    assert sum(p.severity is Severity.WARNING for p in problems) <= 0.01 * N


def test_group_mix(cohort):
    _, group, _ = cohort
    share = group.value_counts(normalize=True)
    assert share["relapsed_refractory"] == pytest.approx(0.58, abs=0.02)
    assert share["mrd_clearance"] == pytest.approx(0.30, abs=0.02)
    assert share["chemotherapy_intolerance"] == pytest.approx(0.12, abs=0.02)


def test_relapse_sites_follow_the_163_patient_cohort(cohort):
    registry, _, first = cohort
    before = _relapses_before(registry, first)
    share = _site_label(before[before["relapse_number"] == 1]).value_counts(normalize=True)
    expected = {"BM": 0.773, "CNS": 0.018, "testis": 0.006, "BM+CNS": 0.117, "BM+testis": 0.074, "BM+other EM": 0.012}
    for site, value in expected.items():
        assert share.get(site, 0.0) == pytest.approx(value, abs=0.02), site
    assert set(share.index) == set(expected)


def test_relapse_timing_follows_the_163_patient_cohort(cohort):
    registry, _, first = cohort
    diagnosis = registry["diagnosis"].set_index("patient_id")
    before = _relapses_before(registry, first)
    firsts = before[before["relapse_number"] == 1].sample(3000, random_state=1)
    timings = []
    for row in firsts.itertuples():
        dx = diagnosis.loc[row.patient_id]
        end = None if pd.isna(dx.frontline_end_date) else dx.frontline_end_date.date()
        timings.append(relapse_timing(dx.diagnosis_date.date(), row.relapse_date.date(), end).timing.value)
    share = pd.Series(timings).value_counts(normalize=True)
    assert share["very_early"] == pytest.approx(0.356, abs=0.03)
    assert share["early"] == pytest.approx(0.344, abs=0.03)
    assert share["late"] == pytest.approx(0.300, abs=0.03)


def test_second_relapse_share_and_ages(cohort):
    registry, group, first = cohort
    before = _relapses_before(registry, first)
    count = before.groupby("patient_id").size().reindex(group.index, fill_value=0)
    rr = count[group == "relapsed_refractory"]
    assert (rr >= 2).mean() == pytest.approx(0.125, abs=0.02)  # 10.4% in second relapse, a few in third
    assert (rr >= 1).all()
    birth = registry["patient"].set_index("patient_id")["birth_date"]
    age = (first - birth.loc[first.index]).dt.days / 365.25
    assert age.min() >= 0.55
    assert 8.5 <= age.median() <= 12.0
    assert 0.05 <= (age >= 18).mean() <= 0.25
    assert age.max() < 35


def test_bcr_abl1_share_and_flow_pcr_discordance(cohort):
    registry, group, _ = cohort
    genetics = registry["genetic_finding"]
    bcr = pd.Series(group.index.isin(genetics.loc[genetics["lesion"] == "BCR::ABL1", "patient_id"]), index=group.index)
    assert bcr[group == "mrd_clearance"].mean() == pytest.approx(0.30, abs=0.03)
    assert bcr[group == "relapsed_refractory"].mean() == pytest.approx(0.04, abs=0.015)
    mrd = registry["mrd_assessment"]
    wide = mrd[mrd["patient_id"].isin(bcr[bcr].index)].pivot_table(
        index=["patient_id", "assessment_date"], columns="method", values="detected", aggfunc="first"
    )
    discordant = (wide["flow"] == False) & (wide["rt_qpcr_fusion"] == True)  # noqa: E712
    patients = discordant[discordant].index.get_level_values(0).unique()
    assert len(patients) > 0.4 * bcr.sum()
    # The opposite (flow-positive, PCR-negative) does not happen.
    assert not ((wide["flow"] == True) & (wide["rt_qpcr_fusion"] == False)).any()  # noqa: E712


def test_response_rates(cohort):
    registry, group, _ = cohort
    response = registry["response_assessment"]
    remission = response.assign(cr=response["category"].isin(["cr", "crh", "cri"])).groupby("patient_id")["cr"].any()
    assert remission[group == "relapsed_refractory"].mean() == pytest.approx(0.85, abs=0.03)  # 138/163
    assert remission[group != "relapsed_refractory"].all()
    # MRD negativity after cycle 1 in MC by flow and PCR: 72% (13/18).
    mrd = registry["mrd_assessment"]
    cycle1 = response[response["cycle_number"] == 1][["patient_id", "assessment_date"]]
    after = mrd.merge(cycle1, on=["patient_id", "assessment_date"])
    negative = ~after.groupby("patient_id")["detected"].any()
    assert negative[group.loc[negative.index] == "mrd_clearance"].mean() == pytest.approx(0.72, abs=0.04)
    # High tumour load fails: R/R patients with baseline MRD >= 20% respond less often.
    baseline = mrd[(mrd["method"] == "flow")].sort_values("assessment_date").groupby("patient_id").first()
    rr = group[group == "relapsed_refractory"].index
    high = baseline.loc[rr, "fraction"] >= 0.2
    assert remission.loc[rr][high.to_numpy()].mean() < remission.loc[rr][~high.to_numpy()].mean() - 0.2
    rr_negative = negative.reindex(rr)
    assert rr_negative[high.to_numpy()].mean() < 0.35 < 0.6 < rr_negative[~high.to_numpy()].mean()
    mc = baseline.loc[group[group == "mrd_clearance"].index, "fraction"].dropna()
    assert mc.median() == pytest.approx(0.00145, rel=0.25)
    assert baseline.loc[rr, "fraction"].median() == pytest.approx(0.0837, rel=0.25)


def test_toxicity_rates(cohort):
    registry, group, _ = cohort
    events = registry["adverse_event"]
    crs = pd.Series(group.index.isin(events.loc[events["term"] == "crs", "patient_id"]), index=group.index)
    assert crs[group == "relapsed_refractory"].mean() == pytest.approx(0.50, abs=0.05)  # nearly half
    grades = events.loc[events["term"] == "crs", "grade"].value_counts(normalize=True)
    assert grades.loc[[1, 2]].sum() >= 0.85  # mostly grade 1-2
    neuro = events[events["term"].isin(["icans", "tremor", "encephalopathy", "seizure", "other_neurotoxicity"])]
    cycles = registry["blinatumomab_cycle"]
    hsct = registry["hsct"]
    first = cycles.groupby("patient_id")["start_date"].min()
    pretreated = set(hsct.loc[hsct["hsct_date"] < hsct["patient_id"].map(first), "patient_id"])
    rate = neuro["patient_id"].isin(pretreated).sum() / cycles["patient_id"].isin(pretreated).sum()
    assert rate == pytest.approx(0.15, abs=0.04)  # 8 events over 78 cycles, heavily pretreated
    icans = events[events["term"] == "icans"]
    assert 0 < (icans["grade"] == 4).mean() < 0.08


def test_hsct_and_outcomes(cohort):
    registry, group, first = cohort
    hsct = registry["hsct"]
    after = hsct[hsct["hsct_date"] > hsct["patient_id"].map(first)]
    share = pd.Series(group.index.isin(after["patient_id"]), index=group.index)
    assert 0.55 <= share.mean() <= 0.70
    assert after["remission_status"].value_counts(normalize=True)["CR2"] > 0.5
    assert after.loc[after["remission_status"] != "CR1", "inotuzumab_before"].mean() == pytest.approx(0.3, abs=0.06)

    follow = registry["follow_up"].set_index("patient_id")
    death = registry["death"].set_index("patient_id")
    time = (follow["last_contact_date"] - first.loc[follow.index]).dt.days.to_numpy(float)
    event = (follow["vital_status"] == "dead").to_numpy().astype(int)

    def two_year(mask):
        fit = kaplan_meier(time[mask], event[mask])
        times, survival = np.asarray(fit.time), np.asarray(fit.survival)
        return float(survival[times <= 730][-1])

    groups = group.loc[follow.index].to_numpy()
    rr, mc = two_year(groups == "relapsed_refractory"), two_year(groups == "mrd_clearance")
    assert 0.55 <= rr <= 0.80
    assert 0.80 <= mc <= 0.95
    assert rr < mc
    # After HSCT: OS about 85-90% at 2 years; non-relapse mortality low (~3%).
    transplanted = after.groupby("patient_id")["hsct_date"].min()
    t = (follow.loc[transplanted.index, "last_contact_date"] - transplanted).dt.days.to_numpy(float)
    e = (follow.loc[transplanted.index, "vital_status"] == "dead").to_numpy().astype(int)
    fit = kaplan_meier(t, e)
    assert 0.78 <= float(np.asarray(fit.survival)[np.asarray(fit.time) <= 730][-1]) <= 0.92
    nrm = death.loc[death.index.isin(transplanted.index) & (death["cause"] != "relapse_progression")]
    assert 0.01 <= len(nrm) / len(transplanted) <= 0.05
    assert death["cause"].value_counts(normalize=True)["relapse_progression"] > 0.8
