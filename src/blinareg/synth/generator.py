"""The synthetic-cohort generator: `generate(n_patients, seed)` -> a `Registry` of SYNTHETIC patients.

Every column is drawn as a NumPy array for all patients (or all cycles, all relapses, ...) at once;
there is no per-patient Python loop, so a million patients take minutes. The model and its sources are
described in `blinareg.synth` and docs/synthetic-data.md; its numbers live in `blinareg.synth.model`.

Order of the draws (fixed, so that a seed gives the same registry):
patients (group, sex, age, relapses, dates) -> relapses -> genetics -> body size and doses ->
response latents (baseline MRD, CR, MRD clearance) -> cycles and their adverse events, interruptions
and early stops -> dose segments -> MRD and response assessments -> outcomes after blinatumomab (HSCT,
relapse, death, censoring) -> treatment lines, HSCT, follow-up, death.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from blinareg.records.models import (
    AdverseEvent,
    BlinatumomabCycle,
    BodyMeasurement,
    Center,
    Death,
    Diagnosis,
    DoseSegment,
    FollowUp,
    GeneticFinding,
    Hsct,
    Interruption,
    MrdAssessment,
    Patient,
    Record,
    Relapse,
    ResponseAssessment,
    TreatmentLine,
)
from blinareg.records.registry import Registry
from blinareg.rules import DEFAULT_RULES, RuleSet
from blinareg.synth import model as m
from blinareg.synth._arrays import (
    owned_frame,
    NO_DATE,
    choice,
    codes,
    day_number,
    expand,
    frame,
    group_max,
    lognormal_days,
    uniform_int,
)

__all__ = ["generate", "DEFAULT_AS_OF", "default_center_count"]

DEFAULT_AS_OF = dt.date(2026, 6, 30)
_BIG = np.int64(10**9)  # "never" for cycle numbers and day numbers
_STAGES = (
    "patients",
    "relapses",
    "genetics",
    "body size",
    "response",
    "cycles",
    "dose segments",
    "MRD and response",
    "outcomes",
    "record frames",
)


def default_center_count(n_patients: int) -> int:
    """About one synthetic center per 50 patients, at least 1 and at most 40."""
    return max(1, min(40, math.ceil(n_patients / 50)))


def generate(
    n_patients: int,
    seed: int = 0,
    *,
    centers: int | None = None,
    start_year: int = 2014,
    as_of: dt.date = DEFAULT_AS_OF,
    progress: bool = False,
    rules: RuleSet = DEFAULT_RULES,
) -> Registry:
    """A registry of `n_patients` SYNTHETIC patients (ids SYN-000001...), deterministic for `seed`.

    `centers`: number of synthetic centers (default `default_center_count`); first blinatumomab
    infusions fall between 1 January `start_year` and a year before `as_of`; nothing is dated after
    `as_of`. `progress` shows a progress bar on stderr. Doses and grading parameters follow `rules`.
    """
    if isinstance(n_patients, bool) or not isinstance(n_patients, (int, np.integer)) or n_patients < 1:
        raise ValueError(f"n_patients must be a positive integer, not {n_patients!r}")
    n_centers = default_center_count(int(n_patients)) if centers is None else int(centers)
    if n_centers < 1:
        raise ValueError(f"centers must be at least 1, not {centers!r}")
    first_day = day_number(dt.date(start_year, 1, 1))
    last_day = day_number(as_of) - m.MIN_DAYS_BEFORE_AS_OF
    if last_day <= first_day:
        raise ValueError(
            f"start_year {start_year} leaves no time for a first infusion at least "
            f"{m.MIN_DAYS_BEFORE_AS_OF} days before as_of {as_of.isoformat()}"
        )
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(_STAGES), desc="synthetic cohort", unit="stage", file=sys.stderr)
    try:
        builder = _Builder(
            int(n_patients), np.random.default_rng(seed), n_centers, first_day, last_day, day_number(as_of), rules, bar
        )
        return builder.run()
    finally:
        if bar is not None:
            bar.close()


# Record frames read from the builder's row tables: record type -> (model, row table attribute,
# record field -> table key, values for every row).
_ROW_TABLE_FIELDS: dict[str, tuple[type[Record], str, dict[str, str], dict[str, object]]] = {
    "dose_segment": (
        DoseSegment,
        "segments",
        dict(cycle_number="cycle", kind="kind", start_date="start", end_date="end", dose="dose", unit="unit"),
        {},
    ),
    "interruption": (
        Interruption,
        "interruptions",
        dict(cycle_number="cycle", start_date="start", end_date="end", reason="reason"),
        {},
    ),
    "mrd_assessment": (
        MrdAssessment,
        "mrd",
        dict(
            assessment_date="date",
            method="method",
            target="target",
            detected="detected",
            fraction="fraction",
            sensitivity="sensitivity",
        ),
        {"sample": "BM"},
    ),
    "response_assessment": (
        ResponseAssessment,
        "response",
        dict(assessment_date="date", category="category", cycle_number="cycle", marrow_blasts_pct="blasts"),
        {},
    ),
    "adverse_event": (
        AdverseEvent,
        "ae",
        dict(
            event_number="number",
            term="term",
            description="description",
            grading_system="system",
            grade="grade",
            onset_date="onset",
            resolution_date="resolution",
            cycle_number="cycle",
            serious="serious",
            action_taken="action",
            temperature_c="temperature",
            vasopressors="vasopressors",
            vasopressin="vasopressin",
            hypotension="hypotension",
            oxygen="oxygen",
            ice_score="ice",
            capd_score="capd",
            consciousness="consciousness",
            seizure="seizure",
            motor="motor",
            cerebral_edema="edema",
        ),
        {},
    ),
}


@dataclass
class _Builder:
    n: int
    rng: np.random.Generator
    n_centers: int
    first_day: int
    last_day: int
    as_of: int
    rules: RuleSet
    bar: object
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def run(self) -> Registry:
        stages = (
            self.patients,
            self.relapses_before,
            self.genetics,
            self.body,
            self.response_latents,
            self.cycles,
            self.dose_segments,
            self.assessments,
            self.outcomes,
            self.final_frames,
        )
        for name, stage in zip(_STAGES, stages):
            if self.bar is not None:
                self.bar.set_postfix_str(name)
            stage()
            if self.bar is not None:
                self.bar.update(1)
        return self.registry

    # ---- patients ---------------------------------------------------------------------------------

    def patients(self) -> None:
        r, n = self.rng, self.n
        weights = 1.0 / np.arange(1, self.n_centers + 1) ** 0.6
        self.center = choice(r, weights, n)
        self.group = choice(r, m.GROUP_SHARE, n)
        self.male = r.random(n) < m.MALE_SHARE
        self.n_rel = choice(r, m.RELAPSES_BEFORE[self.group])
        # First infusion: half uniform over the accrual window, half increasing (more patients lately).
        u = r.random(n)
        ramp = r.random(n) < 0.5
        x = np.where(ramp, np.sqrt(u), u)
        self.t0 = self.first_day + np.floor(x * (self.last_day - self.first_day)).astype(np.int64)

        component = choice(r, m.AGE_MIXTURE, n)
        age = np.select(
            [component == 0, component == 1, component == 2],
            [
                r.uniform(m.AGE_MIN_YEARS, 1.0, n),
                np.clip(np.exp(np.log(4.5) + 0.45 * r.standard_normal(n)), 1.0, 10.0),
                r.uniform(10.0, 18.0, n),
            ],
            r.uniform(18.0, 24.0, n),
        )
        self.age_dx = age

        # Relapse offsets from diagnosis (days); relapse timing of the first relapse (BFM).
        self.frontline_days = uniform_int(r, np.full(n, m.FRONTLINE_DAYS[0]), m.FRONTLINE_DAYS[1])
        self.timing = choice(r, m.TIMING_SHARE, n)
        fd = self.frontline_days
        very_early = uniform_int(r, np.full(n, 90), 530)
        early = uniform_int(r, np.full(n, 560), fd + 170)
        late = fd + 190 + np.minimum(np.round(r.exponential(600.0, n)), 1800).astype(np.int64)
        rel1 = np.select([self.timing == 0, self.timing == 1], [very_early, early], late)
        gap2 = lognormal_days(r, *m.RELAPSE_GAP, n)
        gap3 = lognormal_days(r, *m.RELAPSE_GAP, n)
        self.rel_off = np.stack([rel1, rel1 + gap2, rel1 + gap2 + gap3], axis=1)  # used up to n_rel
        last_rel = np.where(self.n_rel >= 1, self.rel_off[np.arange(n), np.maximum(self.n_rel - 1, 0)], 0)

        to_blina = np.zeros(n, dtype=np.int64)
        for g, params in m.TO_BLINA_CR1.items():
            sel = (self.group == g) & (self.n_rel == 0)
            to_blina[sel] = lognormal_days(r, *params, int(sel.sum()))
        for g, params in m.TO_BLINA_AFTER_RELAPSE.items():
            sel = (self.group == g) & (self.n_rel >= 1)
            to_blina[sel] = lognormal_days(r, *params, int(sel.sum()))
        self.dx = self.t0 - last_rel - to_blina
        self.birth = self.dx - np.round(self.age_dx * 365.25).astype(np.int64)
        self.frontline_start = self.dx + uniform_int(r, np.zeros(n, dtype=np.int64), 5)

        # Prior HSCT (relapsed/refractory only): in CR2 between the first and second relapse, or in CR1.
        rr = self.group == m.RR
        after_first = self.dx + self.rel_off[:, 0] + uniform_int(r, np.full(n, 120), 210)
        ok_cr2 = rr & (self.n_rel >= 2) & (after_first <= self.dx + self.rel_off[:, 1] - 90)
        in_cr1 = self.dx + uniform_int(r, np.full(n, 150), 270)
        ok_cr1 = rr & (self.n_rel == 1) & (in_cr1 <= self.dx + self.rel_off[:, 0] - 90)
        u = r.random(n)
        cr2 = ok_cr2 & (u < m.PRIOR_HSCT_AFTER_FIRST_RELAPSE)
        cr1 = ok_cr1 & (u < m.PRIOR_HSCT_IN_CR1)
        self.prior_hsct = cr1 | cr2
        self.prior_hsct_date = np.where(cr2, after_first, np.where(cr1, in_cr1, NO_DATE))
        self.prior_hsct_status = np.where(cr2, 1, 0)  # relapses before it

    # ---- relapses before blinatumomab -----------------------------------------------------------

    def _site_probabilities(self, shares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Site shares for males and females with the same marginal: testis sites only in males."""
        testis = shares * m.TESTIS_SITES
        other = shares * ~m.TESTIS_SITES
        male = testis / m.MALE_SHARE + other * (1 - testis.sum() / m.MALE_SHARE) / other.sum()
        female = other / other.sum()
        return male, female

    def _draw_sites(self, owner: np.ndarray, shares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = self.rng
        male_p, female_p = self._site_probabilities(shares)
        probabilities = np.where(self.male[owner][:, None], male_p[None, :], female_p[None, :])
        site = choice(r, probabilities) if len(owner) else np.zeros(0, dtype=np.int64)
        flags = m.SITE_FLAGS[site]
        marrow, extramedullary = flags[:, 0], flags[:, 1:].any(axis=1)
        blasts = np.where(
            marrow & ~extramedullary,
            r.uniform(25.0, 98.0, len(owner)),
            np.where(marrow, r.uniform(5.0, 95.0, len(owner)), r.uniform(0.0, 4.4, len(owner))),
        )
        return site, np.round(blasts, 1)

    def relapses_before(self) -> None:
        owner, ordinal = expand(self.n_rel)
        self.rb_owner, self.rb_number = owner, ordinal + 1
        self.rb_date = self.dx[owner] + self.rel_off[owner, ordinal]
        self.rb_site, self.rb_blasts = self._draw_sites(owner, m.SITE_SHARE)
        # Front-line therapy ends at its planned end, or the day before a relapse that came first.
        relapsed = self.n_rel >= 1
        self.frontline_end = np.where(
            relapsed, self.dx + np.minimum(self.frontline_days, self.rel_off[:, 0] - 1), NO_DATE
        )

    # ---- genetics -----------------------------------------------------------------------------------

    def genetics(self) -> None:
        r, n = self.rng, self.n
        self.bcr = r.random(n) < m.BCR_ABL1_SHARE[self.group]
        lesion_p = np.append(m.LESION_SHARE, 1 - m.LESION_SHARE.sum())
        lesion = choice(r, lesion_p, n)  # len(LESIONS) = none
        infant_kmt2a = (self.age_dx < 1.0) & (r.random(n) < 0.7)
        lesion = np.where(infant_kmt2a, m.LESIONS.index("KMT2A-r"), lesion)
        lesion = np.where(self.bcr, len(m.LESIONS), lesion)
        other = r.random(n) < m.OTHER_FINDING_SHARE
        other_detail = choice(r, np.ones(len(m.OTHER_DETAILS)), n)
        self.lesion = lesion
        pheno = choice(r, m.IMMUNOPHENOTYPE_SHARE, n)
        self.immunophenotype = np.where(lesion == m.LESIONS.index("KMT2A-r"), 0, pheno)

        primary = self.bcr | (lesion < len(m.LESIONS))
        lesion_codes = codes(["BCR::ABL1", *m.LESIONS])
        primary_code = np.where(self.bcr, 0, np.minimum(lesion, len(m.LESIONS) - 1) + 1)
        pid = np.concatenate([np.flatnonzero(primary), np.flatnonzero(other)])
        lesion_col = np.concatenate(
            [lesion_codes[primary_code[primary]], np.full(int(other.sum()), "other", dtype=object)]
        )
        detail = np.concatenate(
            [np.full(int(primary.sum()), None, dtype=object), codes(list(m.OTHER_DETAILS))[other_detail[other]]]
        )
        order = np.argsort(pid, kind="stable")
        self.genetic = dict(pid=pid[order], lesion=lesion_col[order], detail=detail[order])

    # ---- body size and doses --------------------------------------------------------------------------

    def body(self) -> None:
        r, n = self.rng, self.n
        self.measure_date = self.t0 - uniform_int(r, np.zeros(n, dtype=np.int64), 3)
        age = (self.measure_date - self.birth) / 365.25
        adult = np.where(self.male, 176.0, 163.0)
        at12 = 75.0 + 6.3 * 11
        height = np.select(
            [age < 1, age < 12, age < 16],
            [50.0 + 25.0 * age, 75.0 + 6.3 * (age - 1), at12 + (adult - at12) * (age - 12) / 4],
            adult,
        ) * (1 + 0.035 * r.standard_normal(n))
        bmi = np.select(
            [age < 1, age < 6, age < 12, age < 18], [17.0, 16.0, 16.0 + 0.4 * (age - 6), 18.4 + 0.45 * (age - 12)], 22.0
        ) * np.exp(0.12 * r.standard_normal(n))
        self.height = np.clip(np.round(height), 45, 210)
        self.weight = np.clip(np.round(bmi * (self.height / 100) ** 2, 1), 3.0, 200.0)
        rules = self.rules
        bsa = np.sqrt(self.height * self.weight / 3600.0)
        self.bsa_based = self.weight < rules.dose_weight_threshold_kg.value
        step_m2, full_m2 = rules.step_dose_mcg_per_m2_per_day.value, rules.full_dose_mcg_per_m2_per_day.value
        step_cap, full_cap = rules.step_dose_cap_mcg_per_day.value, rules.full_dose_cap_mcg_per_day.value

        # Recorded daily doses in the patient's unit; a capped BSA dose is the cap expressed per m2.
        # (rounded down to 4 decimals so that dose x BSA never exceeds the cap).
        def capped(per_m2: float, cap: float) -> np.ndarray:
            return np.where(per_m2 * bsa > cap, np.floor(cap / bsa * 1e4) / 1e4, per_m2)

        self.step_dose = np.where(self.bsa_based, capped(step_m2, step_cap), rules.step_dose_mcg_per_day.value)
        self.full_dose = np.where(self.bsa_based, capped(full_m2, full_cap), rules.full_dose_mcg_per_day.value)

    # ---- response latents ---------------------------------------------------------------------------

    def response_latents(self) -> None:
        r, n, g = self.rng, self.n, self.group
        z = r.standard_normal(n)
        mrd0 = np.zeros(n)
        log_ratio = np.zeros(n)
        for grp, (median, sd, low, high) in m.MRD0.items():
            sel = g == grp
            mrd0[sel] = np.clip(10 ** (np.log10(median) + sd * z[sel]), low, high)
            log_ratio[sel] = np.log10(mrd0[sel] / median)
        ic = g == m.IC
        median, sd, low, high = m.IC_MRD0
        ic_pos = ic & (r.random(n) < m.IC_MRD_POSITIVE)
        mrd0[ic_pos] = np.clip(10 ** (np.log10(median) + sd * z[ic_pos]), low, high)
        self.mrd0 = np.round(mrd0, 6)
        self.flow_neg_start = (ic & ~ic_pos) | (
            (g == m.MC) & self.bcr & (r.random(n) < m.BCR_ABL1_FLOW_NEGATIVE_AT_START)
        )

        rr = g == m.RR
        logit = (
            m.RR_CR_INTERCEPT
            + m.RR_CR_SLOPE_LOG10_MRD * log_ratio
            + m.RR_CR_PRIOR_HSCT * self.prior_hsct
            + m.RR_CR_LATER_RELAPSE * (self.n_rel >= 2)
            + m.RR_CR_HIGH_LOAD * (self.mrd0 >= m.HIGH_LOAD)
        )
        self.responder = ~rr | (r.random(n) < 1 / (1 + np.exp(-logit)))
        self.late_responder = rr & self.responder & (r.random(n) < m.RR_LATE_RESPONDER)
        self.cr_kind = choice(r, m.RR_CR_KIND, n)

        a = np.array([m.FLOW_NEG_C1[k][0] for k in (m.MC, m.IC, m.RR)])[g]
        b = np.array([m.FLOW_NEG_C1[k][1] for k in (m.MC, m.IC, m.RR)])[g]
        high_load = rr & (self.mrd0 >= m.HIGH_LOAD)
        p1 = 1 / (1 + np.exp(-(a + b * log_ratio + m.RR_FLOW_HIGH_LOAD * high_load)))
        p1 = np.where((g == m.MC) & self.bcr, m.BCR_ABL1_FLOW_NEG_C1, p1)
        cleared1 = r.random(n) < p1
        later = 1 + r.geometric(m.CLEAR_LATER, n)
        k_neg = np.where(cleared1, 1, later)
        k_neg = np.where(self.late_responder, np.maximum(k_neg, 2), k_neg)
        k_neg = np.where(self.flow_neg_start & (g == m.MC), 1, k_neg)
        k_neg = np.where(ic & ~ic_pos, 0, k_neg)
        self.k_neg = np.where(self.responder, k_neg, _BIG).astype(np.int64)

        # PCR: RT-qPCR of BCR::ABL1, or Ig/TCR qPCR for some of the others (0 none, 1 fusion, 2 Ig/TCR).
        self.pcr = np.where(self.bcr, 1, np.where(r.random(n) < m.IG_TCR_PCR_SHARE, 2, 0))
        with_flow = np.where(self.pcr == 1, m.PCR_NEG_WITH_FLOW["rt_qpcr_fusion"], m.PCR_NEG_WITH_FLOW["ig_tcr_qpcr"])
        clear_later = np.where(self.pcr == 1, m.PCR_CLEAR_LATER["rt_qpcr_fusion"], m.PCR_CLEAR_LATER["ig_tcr_qpcr"])
        same = r.random(n) < with_flow
        extra = r.geometric(clear_later)
        k_pcr = np.where(same | (self.k_neg == 0), self.k_neg, self.k_neg + extra)
        self.k_pcr = np.where(self.responder, k_pcr, _BIG).astype(np.int64)
        self.flow_sensitivity = np.where(r.random(n) < m.FLOW_SENSITIVITY_1E5, 1e-5, 1e-4)
        self.pcr_sensitivity = np.where(r.random(n) < m.PCR_SENSITIVITY_1E4, 1e-4, 1e-5)
        self.ig_target = choice(r, np.ones(4), n)

    # ---- cycles, adverse events, interruptions, early stops ------------------------------------------

    def cycles(self) -> None:
        r, n, g = self.rng, self.n, self.group
        probabilities = np.stack([m.CYCLES[m.MC], m.CYCLES[m.IC], m.CYCLES[m.RR]])[g]
        nr = ~self.responder
        probabilities[nr] = m.CYCLES["rr_non_responder"]
        n_cyc = choice(r, probabilities) + 1
        n_cyc = np.where(self.late_responder, np.maximum(n_cyc, 2), n_cyc)

        pid, ordinal = expand(n_cyc)
        k = len(pid)
        cg = g[pid]
        number = ordinal + 1
        first = number == 1
        last_planned = number == n_cyc[pid]
        rr_first = (cg == m.RR) & first
        step_days = np.where(rr_first, self.rules.rr_step_up_day.value - 1, 0)

        # Adverse events of each cycle (one draw per family).
        crs = r.random(k) < np.where(first, m.CRS_C1[cg], m.CRS_LATER[cg])
        crs_grade = choice(r, np.stack([m.CRS_GRADES[m.MC], m.CRS_GRADES[m.IC], m.CRS_GRADES[m.RR]])[cg]) + 1
        crs_onset = np.where(
            rr_first, uniform_int(r, np.ones(k, dtype=np.int64), 3), uniform_int(r, np.ones(k, dtype=np.int64), 2)
        )
        crs_days = uniform_int(r, np.ones(k, dtype=np.int64), 5)
        fever = ~crs & (r.random(k) < np.where(first, m.FEVER_C1[cg], m.FEVER_LATER[cg]))
        fever_grade = np.where(r.random(k) < 0.8, 1, 2)
        fever_onset = uniform_int(r, np.ones(k, dtype=np.int64), 2)
        fever_days = uniform_int(r, np.ones(k, dtype=np.int64), 2)
        neuro_p = np.where(self.prior_hsct[pid], m.NEURO_PRIOR_HSCT, m.NEURO[cg])
        neuro = r.random(k) < neuro_p
        neuro_term = choice(r, m.NEURO_TERM_SHARE, k)
        neuro_grade = choice(r, m.NEURO_GRADES[neuro_term]) + 1
        neuro_onset = uniform_int(r, np.ones(k, dtype=np.int64), 14)
        neuro_days = uniform_int(r, np.ones(k, dtype=np.int64), 7)
        infection = r.random(k) < m.INFECTION[cg]
        infection_grade = choice(r, m.INFECTION_GRADES, k) + 2
        infection_onset = uniform_int(r, np.full(k, 3), 26)
        infection_days = uniform_int(r, np.full(k, 5), 20)
        cytopenia = r.random(k) < m.CYTOPENIA[cg]
        cytopenia_grade = choice(r, m.CYTOPENIA_GRADES, k) + 3
        cytopenia_onset = uniform_int(r, np.ones(k, dtype=np.int64), 21)
        cytopenia_days = uniform_int(r, np.full(k, 5), 21)

        # Toxicity stops (grade 4 CRS or neurotoxicity: discontinue permanently), else one interruption.
        crs_stop = crs & (crs_grade >= self.rules.dm_crs_discontinue_grade.value)
        neuro_stop = neuro & (neuro_grade >= self.rules.dm_neuro_discontinue_grade.value)
        tox_stop = crs_stop | neuro_stop
        tox_day = np.minimum(np.where(crs_stop, crs_onset, 99), np.where(neuro_stop, neuro_onset, 99))
        crs_int = crs & (crs_grade == self.rules.dm_crs_interrupt_grade.value)
        neuro_int = neuro & (neuro_grade == self.rules.dm_neuro_interrupt_grade.value)
        infection_int = (
            infection & ((infection_grade >= 4) | (r.random(k) < m.INFECTION_INTERRUPTS)) & (infection_grade >= 3)
        )
        technical = r.random(k) < m.TECHNICAL_INTERRUPTION
        tech_day = uniform_int(r, np.full(k, 3), 25)
        tech_len = uniform_int(r, np.ones(k, dtype=np.int64), 2)
        limit = self.rules.interruption_max_continue_days.value
        cause = np.select([crs_int, neuro_int, infection_int, technical], [1, 2, 3, 4], 0)
        cause = np.where(tox_stop, 0, cause)
        stop_day = np.select(
            [cause == 1, cause == 2, cause == 3, cause == 4],
            [crs_onset + 1, neuro_onset + 1, infection_onset + 1, tech_day],
            0,
        )
        length = np.select(
            [cause == 1, cause == 2, cause == 3, cause == 4],
            [
                np.minimum(crs_days + 1, limit),
                np.clip(neuro_days + 3, 4, limit),
                np.clip(infection_days // 2, 2, limit),
                tech_len,
            ],
            0,
        )

        # Action taken on each adverse event: 1 interrupted (the interruption's cause), 3 discontinued.
        crs_action = np.select([crs_stop, crs_int & (cause == 1)], [3, 1], 0)
        neuro_action = np.select([neuro_stop, neuro_int & (cause == 2)], [3, 1], 0)
        infection_action = np.where(infection_int & (cause == 3), 1, 0)

        # Other early stops: progression (non-responders, last cycle), cost, other.
        free = cause == 0
        u = r.random(k)
        progression = free & ~tox_stop & nr[pid] & last_planned & (u < m.PROGRESSION_STOP)
        cost = free & ~tox_stop & ~progression & (u > 1 - m.EARLY_STOP_COST)
        other = free & ~tox_stop & ~progression & ~cost & (u > 1 - m.EARLY_STOP_COST - m.EARLY_STOP_OTHER)
        cost &= ~self.late_responder[pid] | ~first
        other &= ~self.late_responder[pid] | ~first
        stop_reason = np.select([tox_stop, progression, cost, other], [1, 2, 3, 4], 0)
        infused = self.rules.infusion_days_per_cycle.value
        stopped_at = np.select(
            [tox_stop, progression, cost, other],
            [
                tox_day,
                uniform_int(r, np.full(k, 10), 21),
                uniform_int(r, np.full(k, 5), 14),
                uniform_int(r, np.full(k, 3), 20),
            ],
            infused,
        )

        # The course ends with the first early-stopped cycle.
        first_stop = np.full(n, _BIG)
        if k:
            np.minimum.at(first_stop, pid, np.where(stop_reason > 0, number, _BIG))
        keep = number <= first_stop[pid]
        sel = np.flatnonzero(keep)
        n_cyc = np.minimum(n_cyc, first_stop)
        # A late responder stopped in cycle 1 never reached CR: a non-responder after all.
        lost = self.late_responder & (n_cyc < 2)
        self.responder = self.responder & ~lost
        self.late_responder = self.late_responder & ~lost
        self.k_neg = np.where(lost, _BIG, self.k_neg)
        self.k_pcr = np.where(lost, _BIG, self.k_pcr)
        self.n_cyc = n_cyc
        self.lost_late = lost

        last_infusion_day = np.where(cause > 0, infused + length, np.where(stop_reason > 0, stopped_at, infused))
        pid, number, cg, step_days, cause, stop_day, length, stop_reason, stopped_at, last_infusion_day = (
            a[sel]
            for a in (pid, number, cg, step_days, cause, stop_day, length, stop_reason, stopped_at, last_infusion_day)
        )
        k = len(pid)

        # Calendar: the next cycle starts after the treatment-free days (or chemotherapy for IC).
        free_days = np.where(
            cg == m.RR, self.rules.rr_treatment_free_days.value, self.rules.mrd_treatment_free_days.value
        )
        delayed = r.random(k) < m.CYCLE_DELAY[0]
        delay = np.where(delayed, uniform_int(r, np.full(k, m.CYCLE_DELAY[1]), m.CYCLE_DELAY[2]), 0)
        gap = np.where(
            cg == m.IC,
            last_infusion_day + uniform_int(r, np.full(k, m.IC_CHEMO_GAP[0]), m.IC_CHEMO_GAP[1]),
            last_infusion_day + free_days + delay,
        )
        cumulative = np.cumsum(gap) - gap
        group_start = np.cumsum(n_cyc) - n_cyc
        start = self.t0[pid] + cumulative - cumulative[group_start[pid]] if k else np.zeros(0, dtype=np.int64)
        end = start + last_infusion_day - 1
        assessed = end + uniform_int(r, np.ones(k, dtype=np.int64), 3)

        self.cyc = dict(
            pid=pid,
            number=number,
            group=cg,
            start=start,
            end=end,
            assessed=assessed,
            step_days=step_days,
            cause=cause,
            stop_day=stop_day,
            length=length,
            stop_reason=stop_reason,
            stopped_at=stopped_at,
            n_infused=np.where(stop_reason > 0, stopped_at, infused),
            deviation=r.random(k) < m.DOSE_DEVIATION,
        )

        # Adverse-event rows of the kept cycles whose onset is not after the last infusion day.
        kept_index = np.full(len(keep), -1)
        kept_index[sel] = np.arange(len(sel))
        self.ae_parts = []

        def add(mask, grade, onset, days, action, extra=None):
            rows = np.flatnonzero(mask & keep)
            new_rows = kept_index[rows]
            ok = onset[rows] <= last_infusion_day[new_rows]
            rows, new_rows = rows[ok], new_rows[ok]
            self.ae_parts.append(
                dict(
                    row=new_rows,
                    grade=grade[rows],
                    onset=onset[rows],
                    days=days[rows],
                    action=action[rows],
                    extra=None if extra is None else extra[rows],
                )
            )

        zeros = np.zeros(len(keep), dtype=np.int64)
        add(crs, crs_grade, crs_onset, crs_days, crs_action)
        add(fever, fever_grade, fever_onset, fever_days, zeros)
        add(neuro, neuro_grade, neuro_onset, neuro_days, neuro_action, extra=neuro_term)
        add(infection, infection_grade, infection_onset, infection_days, infection_action)
        add(cytopenia, cytopenia_grade, cytopenia_onset, cytopenia_days, zeros)

    # ---- dose segments --------------------------------------------------------------------------------

    def dose_segments(self) -> None:
        c = self.cyc
        k = len(c["pid"])
        interrupted = c["cause"] > 0
        total = c["n_infused"]
        n_a = np.where(interrupted, c["stop_day"] - 1, total)
        restart = c["stop_day"] + c["length"]  # cycle day the infusion restarts
        s = c["step_days"]
        rows, levels, first, last = [], [], [], []
        # Piece A (days 1..n_a), split at the step-up; piece B (after the restart) continues the count.
        mask = s >= 1
        rows.append(np.flatnonzero(mask))
        levels.append(0)
        first.append(np.ones(int(mask.sum()), dtype=np.int64))
        last.append(np.minimum(n_a, s)[mask])
        mask = n_a > s
        rows.append(np.flatnonzero(mask))
        levels.append(1)
        first.append((s + 1)[mask])
        last.append(n_a[mask])
        mask = interrupted & (n_a < s)
        rows.append(np.flatnonzero(mask))
        levels.append(0)
        first.append(restart[mask])
        last.append((restart + (s - n_a) - 1)[mask])
        mask = interrupted
        begin_index = np.maximum(n_a + 1, s + 1)
        rows.append(np.flatnonzero(mask))
        levels.append(1)
        first.append((restart + begin_index - (n_a + 1))[mask])
        last.append((restart + total - (n_a + 1))[mask])
        row = np.concatenate(rows)
        level = np.concatenate([np.full(len(x), lv) for x, lv in zip(rows, levels)])
        first_day = np.concatenate(first)
        last_day = np.concatenate(last)
        order = np.lexsort((first_day, row))
        row, level, first_day, last_day = row[order], level[order], first_day[order], last_day[order]
        pid = c["pid"][row]
        dose = np.where(level == 0, self.step_dose[pid], self.full_dose[pid])
        delivered = np.where(c["deviation"][row] & (level == 1), dose * 0.9, dose)
        start = c["start"][row] + first_day - 1
        end = c["start"][row] + last_day - 1
        unit = np.where(self.bsa_based[pid], "mcg/m2/day", "mcg/day").astype(object)
        both = np.concatenate
        self.segments = dict(
            pid=both([pid, pid]),
            cycle=both([c["number"][row]] * 2),
            kind=both([np.full(len(row), "planned", dtype=object), np.full(len(row), "delivered", dtype=object)]),
            start=both([start, start]),
            end=both([end, end]),
            dose=both([dose, np.round(delivered, 4)]),
            unit=both([unit, unit]),
        )
        n_int = np.flatnonzero(interrupted)
        reasons = codes([None, "crs", "neurotoxicity", "infection", "technical"])
        self.interruptions = dict(
            pid=c["pid"][n_int],
            cycle=c["number"][n_int],
            start=c["start"][n_int] + c["stop_day"][n_int] - 1,
            end=c["start"][n_int] + c["stop_day"][n_int] + c["length"][n_int] - 1,
            reason=reasons[c["cause"][n_int]],
        )

    # ---- MRD and response assessments ------------------------------------------------------------------

    def assessments(self) -> None:
        r, n, c = self.rng, self.n, self.cyc
        k = len(c["pid"])
        pid, number = c["pid"], c["number"]
        g = self.group[pid]
        responder = self.responder[pid]
        late = self.late_responder[pid]
        # Response category per cycle: 0 cr, 1 crh, 2 cri, 3 pr, 4 no_response, 5 progression.
        nr_first = np.where(r.random(k) < 0.65, 4, 5)
        category = np.where(
            g != m.RR,
            0,
            np.where(
                responder,
                np.where(number == 1, np.where(late, 3, self.cr_kind[pid]), 0),
                np.where(number == 1, np.where(self.lost_late[pid], 3, nr_first), 5),
            ),
        )
        blasts = np.select(
            [category <= 2, category == 3, category == 4],
            [r.uniform(0.0, 4.5, k), r.uniform(6.0, 24.0, k), r.uniform(26.0, 85.0, k)],
            r.uniform(40.0, 95.0, k),
        )
        blasts = np.where((category == 0) & (g != m.RR), r.uniform(0.0, 3.0, k), blasts)
        self.response = dict(
            pid=pid,
            date=c["assessed"],
            category=codes(["cr", "crh", "cri", "pr", "no_response", "progression"])[category],
            cycle=number,
            blasts=np.round(blasts, 1),
        )

        # MRD time points: baseline (k = 0) and after each cycle.
        base_date = self.t0 - uniform_int(r, np.ones(n, dtype=np.int64), 7)
        t_pid = np.concatenate([np.arange(n), pid])
        t_k = np.concatenate([np.zeros(n, dtype=np.int64), number])
        t_date = np.concatenate([base_date, c["assessed"]])
        t_blasts = np.concatenate([np.full(n, np.nan), blasts])
        t_cat = np.concatenate([np.full(n, -1), category])
        order = np.lexsort((t_k, t_pid))
        t_pid, t_k, t_date, t_blasts, t_cat = t_pid[order], t_k[order], t_date[order], t_blasts[order], t_cat[order]
        nt = len(t_pid)
        mrd0 = self.mrd0[t_pid]
        decline = 10 ** (-(0.8 + 0.4 * r.random(nt)) * t_k)
        level = np.clip(mrd0 * decline, 1.2e-4, 0.04)
        burden = np.clip(t_blasts / 100 * r.uniform(0.7, 1.0, nt), 0.05, 0.95)
        level = np.where(t_cat >= 3, burden, level)
        level = np.where(t_k == 0, np.maximum(mrd0, 1.2e-4), level)
        flow_detected = t_k < self.k_neg[t_pid]
        flow_detected &= ~((t_k == 0) & self.flow_neg_start[t_pid])
        pcr_detected = t_k < self.k_pcr[t_pid]
        pcr_level = np.where(
            flow_detected,
            np.clip(level * r.uniform(1.0, 2.0, nt), 1.2e-4, 0.95),
            10 ** r.uniform(np.log10(1.2e-4), np.log10(2e-3), nt),
        )
        has_pcr = self.pcr[t_pid] > 0
        flow_n = nt
        pcr_rows = np.flatnonzero(has_pcr)
        self.mrd = dict(
            pid=np.concatenate([t_pid, t_pid[pcr_rows]]),
            date=np.concatenate([t_date, t_date[pcr_rows]]),
            method=np.concatenate(
                [
                    np.full(flow_n, "flow", dtype=object),
                    codes([None, "rt_qpcr_fusion", "ig_tcr_qpcr"])[self.pcr[t_pid[pcr_rows]]],
                ]
            ),
            target=np.concatenate(
                [
                    np.full(flow_n, None, dtype=object),
                    np.where(
                        self.pcr[t_pid[pcr_rows]] == 1,
                        "BCR::ABL1",
                        codes(["IGH VDJ", "IGK-Kde", "TRG", "TRD"])[self.ig_target[t_pid[pcr_rows]]],
                    ).astype(object),
                ]
            ),
            detected=np.concatenate([flow_detected, pcr_detected[pcr_rows]]),
            fraction=np.round(
                np.concatenate(
                    [np.where(flow_detected, level, np.nan), np.where(pcr_detected, pcr_level, np.nan)[pcr_rows]]
                ),
                6,
            ),
            sensitivity=np.concatenate([self.flow_sensitivity[t_pid], self.pcr_sensitivity[t_pid[pcr_rows]]]),
        )
        self.final_flow_positive = self.k_neg > self.n_cyc
        self.final_pcr_positive = (self.pcr > 0) & (self.k_pcr > self.n_cyc)

        # Adverse events: dated, with grading parameters.
        self.adverse_events()

        # End of the blinatumomab course: the last record of it.
        course_end = group_max(pid, c["assessed"], n)
        course_end = np.maximum(course_end, group_max(self.ae["pid"], self.ae["resolution"], n))
        self.course_end = course_end
        self.blina_end = group_max(pid, c["end"], n)

    def adverse_events(self) -> None:
        r, c = self.rng, self.cyc
        parts = self.ae_parts
        row = np.concatenate([p["row"] for p in parts])
        size = [len(p["row"]) for p in parts]
        family = np.repeat(np.arange(len(parts)), size)  # 0 crs, 1 fever, 2 neuro, 3 infection, 4 cytopenia
        grade = np.concatenate([p["grade"] for p in parts]).astype(np.int64)
        onset_day = np.concatenate([p["onset"] for p in parts])
        days = np.concatenate([p["days"] for p in parts])
        action = np.concatenate([p["action"] for p in parts])
        neuro_term = np.full(len(row), -1)
        neuro_term[family == 2] = parts[2]["extra"]
        pid = c["pid"][row]
        onset = c["start"][row] + onset_day - 1
        resolution = onset + days
        m_ = len(row)
        # term codes: crs, fever, icans, tremor, encephalopathy, seizure, other_neurotoxicity, infection, cytopenia
        term = np.select(
            [family == 0, family == 1, family == 2, family == 3], [0, 1, 2 + np.maximum(neuro_term, 0), 7], 8
        )
        age = (onset - self.birth[pid]) / 365.25
        cutoff = self.rules.capd_age_cutoff_years.value
        near_cutoff = np.abs(age - cutoff) < 0.1
        term = np.where((term == 2) & near_cutoff, 4, term)  # graded by CTCAE instead of ICANS
        term_codes = codes(
            [
                "crs",
                "fever",
                "icans",
                "tremor",
                "encephalopathy",
                "seizure",
                "other_neurotoxicity",
                "infection",
                "cytopenia",
            ]
        )
        astct = (term == 0) | (term == 2)
        description = np.full(m_, None, dtype=object)
        description[term == 6] = codes(list(m.OTHER_NEURO_TEXT))[
            choice(r, np.ones(len(m.OTHER_NEURO_TEXT)), int((term == 6).sum()))
        ]
        description[term == 7] = codes(list(m.INFECTION_TEXT))[
            choice(r, np.ones(len(m.INFECTION_TEXT)), int((term == 7).sum()))
        ]
        description[term == 8] = codes(list(m.CYTOPENIA_TEXT))[
            choice(r, np.ones(len(m.CYTOPENIA_TEXT)), int((term == 8).sum()))
        ]
        description[term == 1] = "fever without CRS criteria"

        # CRS parameters giving exactly the grade (ASTCT): fever always; grade 2 low-flow oxygen;
        # grade 3 one vasopressor or high-flow oxygen; grade 4 two vasopressors or positive pressure.
        is_crs = term == 0
        temperature = np.where(is_crs, np.round(r.uniform(self.rules.crs_fever_min_c.value, 40.5, m_), 1), np.nan)
        variant = r.random(m_) < 0.5
        vaso = np.select(
            [grade == 3, grade == 4], [np.where(variant, 1, 0), np.where(variant, 2, choice(r, [0.5, 0.5], m_))], 0
        )
        # Hypotension recorded for every CRS (False for fever-only grade 1), so every grade is computable.
        hypotension = (vaso > 0) | ((grade == 2) & variant)
        oxygen_codes = codes(
            [
                "none",
                "low_flow",
                "high_flow",
                "facemask",
                "non_rebreather",
                "venturi",
                "cpap_bipap",
                "mechanical_ventilation",
            ]
        )
        oxy = np.select(
            [grade == 1, grade == 2, grade == 3, grade == 4],
            [
                0,
                1,
                np.where(variant, choice(r, [0.5, 0.5], m_), 2 + choice(r, [0.4, 0.3, 0.2, 0.1], m_)),
                np.where(variant, choice(r, [0.4, 0.3, 0.3], m_), 6 + choice(r, [0.7, 0.3], m_)),
            ],
            0,
        )

        # ICANS parameters (ICE from age 12, CAPD below) giving exactly the grade.
        is_icans = term == 2
        capd = np.floor(age) < cutoff if not self.rules.capd_age_cutoff_inclusive.value else np.floor(age) <= cutoff
        cons_codes = codes(["normal", "awakens_spontaneously", "awakens_to_voice", "awakens_to_touch", "unarousable"])
        g4_kind = choice(r, [0.7, 0.2, 0.1], m_)  # unarousable, prolonged seizure, diffuse edema
        consciousness = np.select(
            [grade == 1, grade == 2, grade == 3, grade == 4],
            [
                choice(r, [0.5, 0.5], m_),
                np.where(capd, 2, choice(r, [0.3, 0.3, 0.4], m_)),
                np.where(capd, 3, choice(r, [0.2, 0.3, 0.2, 0.3], m_)),
                np.where(g4_kind == 0, 4, 3),
            ],
            0,
        )
        ice = np.select(
            [grade == 1, grade == 2, grade == 3],
            [
                uniform_int(r, np.full(m_, 7), 9),
                uniform_int(r, np.full(m_, 3), 6),
                uniform_int(r, np.zeros(m_, dtype=np.int64), 2),
            ],
            0,
        )
        capd_score = np.select(
            [grade <= 2, grade == 3],
            [uniform_int(r, np.ones(m_, dtype=np.int64), 8), uniform_int(r, np.ones(m_, dtype=np.int64), 8)],
            uniform_int(r, np.full(m_, 9), 32),
        )
        seizure = np.where((grade == 4) & (g4_kind == 1), 2, np.where((grade == 3) & (r.random(m_) < 0.2), 1, 0))
        edema = np.where((grade == 4) & (g4_kind == 2), 2, np.where((grade == 3) & (r.random(m_) < 0.1), 1, 0))
        action_codes = codes(["none", "interrupted", "dose_reduced", "discontinued"])

        order = np.lexsort((term, onset, pid))
        pid, onset, resolution = pid[order], onset[order], resolution[order]
        owner_counts = np.bincount(pid, minlength=self.n)
        _, number = expand(owner_counts)

        def pick(mask, values, kind="float"):
            mask, values = mask[order], values[order]
            if kind == "int":
                return (np.where(mask, values, 0).astype(np.int64), ~mask)
            if kind == "bool":
                return (np.where(mask, values, False).astype(bool), ~mask)
            if kind == "text":
                out = np.full(len(mask), None, dtype=object)
                out[mask] = values[mask]
                return out
            return np.where(mask, values, np.nan)

        self.ae = dict(
            pid=pid,
            number=number + 1,
            term=term_codes[term[order]],
            description=description[order],
            system=np.where(astct, "astct", "ctcae_v5").astype(object)[order],
            grade=grade[order],
            onset=onset,
            resolution=resolution,
            cycle=c["number"][row][order],
            serious=(grade >= 3)[order],
            action=action_codes[action[order]],
            temperature=pick(is_crs, temperature),
            vasopressors=pick(is_crs, vaso, "int"),
            vasopressin=pick(is_crs, np.zeros(m_, dtype=bool), "bool"),
            hypotension=pick(is_crs, hypotension, "bool"),
            oxygen=pick(is_crs, oxygen_codes[oxy], "text"),
            ice=pick(is_icans & ~capd, ice, "int"),
            capd=pick(is_icans & capd, capd_score, "int"),
            consciousness=pick(is_icans, cons_codes[consciousness], "text"),
            seizure=pick(is_icans, codes(["none", "resolving", "prolonged"])[seizure], "text"),
            motor=pick(is_icans, np.full(m_, "none", dtype=object), "text"),
            edema=pick(is_icans, codes(["none", "focal", "diffuse"])[edema], "text"),
        )

    # ---- outcomes after blinatumomab -------------------------------------------------------------------

    def outcomes(self) -> None:
        r, n, g = self.rng, self.n, self.group
        end = self.course_end
        responder = self.responder
        in_cr = responder  # MC and IC are in remission; RR responders reached CR/CRh/CRi
        p_hsct = np.select(
            [g == m.MC, g == m.IC],
            [m.HSCT_AFTER[m.MC], m.HSCT_AFTER[m.IC]],
            np.where(
                responder,
                np.where(self.prior_hsct, m.HSCT_AFTER["rr_prior_hsct"], m.HSCT_AFTER[m.RR]),
                m.HSCT_AFTER["rr_non_responder"],
            ),
        )
        hsct = r.random(n) < p_hsct
        ino = hsct & in_cr & (self.n_rel >= 1) & (r.random(n) < m.INOTUZUMAB_BEFORE_HSCT)
        ino_start = end + uniform_int(r, np.full(n, 7), 20)
        ino_end = ino_start + 28 * (choice(r, [0.6, 0.4], n)) + 14
        hsct_date = np.where(ino, ino_end, end) + lognormal_days(r, *m.TO_HSCT, n)

        cr2 = self.n_rel >= 1
        prone = np.select(
            [(g == m.MC) & ~cr2, (g == m.IC) & ~cr2],
            [
                np.where(hsct, m.RELAPSE_PRONE[(m.MC, True)], m.RELAPSE_PRONE[(m.MC, False)]),
                np.where(hsct, m.RELAPSE_PRONE[(m.IC, True)], m.RELAPSE_PRONE[(m.IC, False)]),
            ],
            np.where(
                hsct,
                np.where(ino, m.RELAPSE_PRONE[("cr2", "ino")], m.RELAPSE_PRONE[("cr2", True)]),
                m.RELAPSE_PRONE[("cr2", False)],
            ),
        )
        mrd_positive = self.final_flow_positive | self.final_pcr_positive
        prone = np.minimum(
            prone
            * np.where(mrd_positive, m.RELAPSE_MRD_POSITIVE_FACTOR, 1.0)
            * np.where(self.prior_hsct, m.RELAPSE_PRIOR_HSCT_FACTOR, 1.0),
            0.95,
        )
        relapses = in_cr & (r.random(n) < prone)
        shape, median = m.RELAPSE_WEIBULL
        scale = median / np.log(2) ** (1 / shape)
        anchor = np.where(hsct, hsct_date, end)
        rel_date = anchor + np.maximum(np.round(scale * r.weibull(shape, n)), 30).astype(np.int64)

        nrm_hsct = hsct & in_cr & (r.random(n) < m.NRM_HSCT)
        nrm_other = ~hsct & in_cr & (r.random(n) < m.NRM_NO_HSCT)
        nrm_date = np.where(
            hsct, hsct_date + lognormal_days(r, *m.NRM_HSCT_TIME, n), end + lognormal_days(r, *m.NRM_NO_HSCT_TIME, n)
        )
        nrm = (nrm_hsct | nrm_other) & (~relapses | (nrm_date < rel_date))
        relapses &= ~nrm
        nrm_cause = np.where(
            hsct,
            codes(list(m.NRM_HSCT_CAUSES))[choice(r, m.NRM_HSCT_CAUSE_SHARE, n)],
            codes(list(m.NRM_NO_HSCT_CAUSES))[choice(r, m.NRM_NO_HSCT_CAUSE_SHARE, n)],
        )
        rel_death = relapses & (r.random(n) < m.DEATH_AFTER_RELAPSE)
        rel_death_date = rel_date + lognormal_days(r, *m.DEATH_AFTER_RELAPSE_TIME, n)
        nr_death = ~in_cr & (r.random(n) < np.where(hsct, m.NON_RESPONDER_HSCT_DEATH, m.NON_RESPONDER_DEATH))
        nr_death_date = np.where(hsct, hsct_date, end) + lognormal_days(r, *m.NON_RESPONDER_DEATH_TIME, n)
        dies = nrm | rel_death | nr_death
        death = np.select([nrm, rel_death, nr_death], [nrm_date, rel_death_date, nr_death_date], NO_DATE)
        cause = np.where(nrm, nrm_cause, "relapse_progression").astype(object)
        salvage = choice(r, m.SALVAGE_SHARE, n)
        salvage_start = rel_date + uniform_int(r, np.full(n, 7), 30)
        salvage_end = salvage_start + np.array([0, 20, 27])[salvage]

        # Observation window: last visit shortly before as_of, or lost to follow-up earlier.
        visit = self.as_of - uniform_int(r, np.full(n, m.VISIT_LAG[0]), m.VISIT_LAG[1])
        lost = r.random(n) < m.LOST_TO_FOLLOW_UP
        lost_at = end + np.floor(r.random(n) * np.maximum(visit - end, 1)).astype(np.int64)
        censor = np.maximum(np.where(lost, np.minimum(lost_at, visit), visit), end)
        dead = dies & (death <= censor)
        last_contact = np.where(dead, death, censor)
        horizon = last_contact
        self.hsct_obs = hsct & (hsct_date <= horizon)
        self.ino_obs = ino & (ino_end <= horizon)
        self.rel_obs = relapses & (rel_date <= horizon)
        self.salvage_obs = self.rel_obs & (salvage_start < horizon)
        self.salvage_type, self.salvage_start = salvage, salvage_start
        self.salvage_end = np.minimum(salvage_end, horizon)
        self.hsct_date, self.ino, self.ino_start, self.ino_end = hsct_date, ino, ino_start, ino_end
        self.rel_date, self.dead, self.death, self.cause = rel_date, dead, death, cause
        self.last_contact = last_contact

        # Front-line end for patients in CR1 at blinatumomab: the planned end, or earlier at HSCT or relapse.
        cr1 = self.n_rel == 0
        planned = self.dx + self.frontline_days
        fe = np.where(self.hsct_obs, np.minimum(planned, hsct_date - 10), planned)
        fe = np.where(self.rel_obs, np.minimum(fe, rel_date - 1), fe)
        fe = np.where(fe <= last_contact, fe, NO_DATE)
        self.frontline_end = np.where(cr1, fe, self.frontline_end)

    # ---- frames ------------------------------------------------------------------------------------

    def final_frames(self) -> None:
        r, n = self.rng, self.n
        width = max(6, len(str(n)))
        ids = np.char.add("SYN-", np.char.zfill(np.arange(1, n + 1).astype(str), width)).astype(object)
        center_width = max(2, len(str(self.n_centers)))
        center_ids = np.char.add(
            "SYN-C", np.char.zfill(np.arange(1, self.n_centers + 1).astype(str), center_width)
        ).astype(object)
        countries = codes(["RU", "DE", "CN", "IT", "KZ"])
        t = self.tables
        nc = self.n_centers
        t["center"] = frame(
            Center,
            dict(
                center_id=center_ids,
                name=np.char.add("Synthetic Center ", np.arange(1, nc + 1).astype(str)).astype(object),
                country=countries[np.arange(nc) % len(countries)],
                synthetic=np.ones(nc, dtype=bool),
            ),
            nc,
        )
        t["patient"] = frame(
            Patient,
            dict(
                patient_id=ids,
                center_id=center_ids[self.center],
                sex=np.where(self.male, "male", "female").astype(object),
                birth_date=self.birth,
            ),
            n,
        )
        t["diagnosis"] = frame(
            Diagnosis,
            dict(
                patient_id=ids,
                diagnosis_date=self.dx,
                immunophenotype=codes(list(m.IMMUNOPHENOTYPES))[self.immunophenotype],
                cns_status=codes(["CNS1", "CNS2", "CNS3"])[choice(r, [0.85, 0.10, 0.05], n)],
                wbc_per_nl=np.round(np.clip(np.exp(np.log(12.0) + 1.0 * r.standard_normal(n)), 0.5, 1500.0), 1),
                frontline_protocol=codes(list(m.FRONTLINE_PROTOCOLS))[
                    choice(r, np.ones(len(m.FRONTLINE_PROTOCOLS)), n)
                ],
                frontline_start_date=self.frontline_start,
                frontline_end_date=self.frontline_end,
            ),
            n,
        )
        gen = self.genetic
        t["genetic_finding"] = frame(
            GeneticFinding,
            dict(patient_id=ids[gen["pid"]], lesion=gen["lesion"], detail=gen["detail"]),
            len(gen["pid"]),
        )

        # Relapses: before blinatumomab, then the one after (if observed).
        after = np.flatnonzero(self.rel_obs)
        site_after, blasts_after = self._draw_sites(after, m.LATER_SITE_SHARE)
        rel_pid = np.concatenate([self.rb_owner, after])
        rel_number = np.concatenate([self.rb_number, self.n_rel[after] + 1])
        rel_date = np.concatenate([self.rb_date, self.rel_date[after]])
        site = np.concatenate([self.rb_site, site_after])
        blasts = np.concatenate([self.rb_blasts, blasts_after])
        order = np.lexsort((rel_number, rel_pid))
        after_blin = np.concatenate([np.zeros(len(self.rb_owner), dtype=bool), np.ones(len(after), dtype=bool)])
        rel_pid, rel_number, rel_date, site, blasts, after_blin = (
            a[order] for a in (rel_pid, rel_number, rel_date, site, blasts, after_blin)
        )
        flags = m.SITE_FLAGS[site] if len(site) else np.zeros((0, 4), dtype=bool)
        extra = self._extra_rng()
        cd19 = (
            codes(list(m.CD19_STATUS))[
                np.where(
                    after_blin,
                    choice(extra, m.CD19_SHARE_AFTER, len(rel_pid)),
                    choice(extra, m.CD19_SHARE_BEFORE, len(rel_pid)),
                )
            ]
            if len(rel_pid)
            else np.empty(0, dtype=object)
        )
        t["relapse"] = frame(
            Relapse,
            dict(
                patient_id=ids[rel_pid],
                relapse_number=rel_number,
                relapse_date=rel_date,
                site_bone_marrow=flags[:, 0],
                site_cns=flags[:, 1],
                site_testis=flags[:, 2],
                site_other_extramedullary=flags[:, 3],
                marrow_blasts_pct=blasts,
                cd19_status=cd19,
            ),
            len(rel_pid),
        )
        t["body_measurement"] = frame(
            BodyMeasurement,
            dict(patient_id=ids, measurement_date=self.measure_date, weight_kg=self.weight, height_cm=self.height),
            n,
        )

        self._treatment_lines(ids)
        c = self.cyc
        stop_codes = codes([None, "toxicity", "progression", "cost", "other"])
        phase = np.where(
            c["group"] == m.RR,
            np.where(
                c["number"] <= self.rules.rr_induction_cycles.value,
                "induction",
                np.where(
                    c["number"] <= self.rules.rr_induction_cycles.value + self.rules.rr_consolidation_cycles.value,
                    "consolidation",
                    "continued",
                ),
            ),
            np.where(
                c["group"] == m.MC,
                np.where(c["number"] <= self.rules.mrd_induction_cycles.value, "induction", "consolidation"),
                "consolidation",
            ),
        ).astype(object)
        t["blinatumomab_cycle"] = owned_frame(
            BlinatumomabCycle,
            ids,
            c,
            dict(cycle_number="number", start_date="start", end_date="end"),
            line_number=self.blina_line[c["pid"]],
            phase=phase,
            indication=codes(list(m.GROUP_INDICATION))[c["group"]],
            early_stop_reason=stop_codes[c["stop_reason"]],
        )
        for record_type, (model, table, fields, constants) in _ROW_TABLE_FIELDS.items():
            t[record_type] = owned_frame(model, ids, getattr(self, table), fields, **constants)
        self._hsct(ids)
        t["follow_up"] = frame(
            FollowUp,
            dict(
                patient_id=ids,
                last_contact_date=self.last_contact,
                vital_status=np.where(self.dead, "dead", "alive").astype(object),
            ),
            n,
        )
        dead = np.flatnonzero(self.dead)
        t["death"] = frame(
            Death, dict(patient_id=ids[dead], death_date=self.death[dead], cause=self.cause[dead]), len(dead)
        )
        # The frames are built in canonical form (tests check that `normalize_frame` leaves them as they are),
        # so they go into the registry as they are: normalizing millions of rows again would double the time.
        self.registry = Registry()
        self.registry.tables.update(t)

    def _extra_rng(self) -> np.random.Generator:
        """A child generator for the fields added later (CD19 at relapse, intolerance reason): it leaves the
        main stream, and so every earlier field of a seed's registry, unchanged."""
        return np.random.default_rng(self.rng.bit_generator.seed_seq.spawn(1)[0])

    def _treatment_lines(self, ids: np.ndarray) -> None:
        r, n = self.rng, self.n
        parts = []  # (pid, start, end, type, intent, regimen) per line kind, in chronological order
        all_ = np.arange(n)
        parts.append(
            (
                all_,
                self.frontline_start,
                self.frontline_end,
                "chemotherapy",
                "frontline",
                codes(list(m.FRONTLINE_PROTOCOLS))[choice(r, np.ones(len(m.FRONTLINE_PROTOCOLS)), n)],
            )
        )
        # One reinduction line per relapse before blinatumomab; the last one ends before the first infusion.
        owner, number = self.rb_owner, self.rb_number
        start = self.rb_date + uniform_int(r, np.ones(len(owner), dtype=np.int64), 5)
        is_last = number == self.n_rel[owner]
        next_rel = self.dx[owner] + self.rel_off[owner, np.minimum(number, 2)]
        next_event = np.where(
            (self.prior_hsct_date[owner] > self.rb_date) & self.prior_hsct[owner],
            np.minimum(self.prior_hsct_date[owner], next_rel),
            next_rel,
        )
        end = np.where(
            is_last,
            self.t0[owner] - uniform_int(r, np.ones(len(owner), dtype=np.int64), 5),
            np.minimum(self.rb_date + uniform_int(r, np.full(len(owner), 60), 150), next_event - 20),
        )
        regimens = codes(["ALL-REZ BFM 2002", "IntReALL SR 2010", "IntReALL HR 2010", "ALL-MB relapse protocol"])
        parts.append(
            (
                owner,
                start,
                end,
                "chemotherapy",
                "relapsed_refractory",
                regimens[choice(r, np.ones(len(regimens)), len(owner))],
            )
        )
        intents = codes(list(m.GROUP_INTENT))
        parts.append((all_, self.t0, self.blina_end, "blinatumomab", intents[self.group], "blinatumomab (Blincyto)"))
        ino = np.flatnonzero(self.ino_obs)
        parts.append(
            (ino, self.ino_start[ino], self.ino_end[ino], "inotuzumab", "bridging_to_hsct", "inotuzumab ozogamicin")
        )
        sal = np.flatnonzero(self.salvage_obs)
        salvage_codes = codes(list(m.SALVAGE))
        salvage_regimen = codes(["tisagenlecleucel", "inotuzumab ozogamicin", "FLAG-Ida"])
        parts.append(
            (
                sal,
                self.salvage_start[sal],
                self.salvage_end[sal],
                salvage_codes[self.salvage_type[sal]],
                "relapsed_refractory",
                salvage_regimen[self.salvage_type[sal]],
            )
        )

        def as_array(value, size):
            return np.full(size, value, dtype=object) if isinstance(value, str) else value

        pid = np.concatenate([p[0] for p in parts])
        starts = np.concatenate([p[1] for p in parts])
        ends = np.concatenate([p[2] for p in parts])
        kinds = np.concatenate([as_array(p[3], len(p[0])) for p in parts])
        intent = np.concatenate([as_array(p[4], len(p[0])) for p in parts])
        regimen = np.concatenate([as_array(p[5], len(p[0])) for p in parts])
        kind_rank = np.repeat(np.arange(len(parts)), [len(p[0]) for p in parts])
        order = np.lexsort((starts, kind_rank, pid))
        pid, starts, ends, kinds, intent, regimen, kind_rank = (
            a[order] for a in (pid, starts, ends, kinds, intent, regimen, kind_rank)
        )
        _, number = expand(np.bincount(pid, minlength=n))
        number = number + 1
        self.blina_line = np.zeros(n, dtype=np.int64)
        blina = kind_rank == 2
        self.blina_line[pid[blina]] = number[blina]
        intolerant = blina & (intent == "chemotherapy_intolerance")
        reasons = codes(list(m.INTOLERANCE_REASONS))[choice(self._extra_rng(), m.INTOLERANCE_SHARE, len(pid))]
        self.tables["treatment_line"] = frame(
            TreatmentLine,
            dict(
                patient_id=ids[pid],
                line_number=number,
                treatment_type=kinds,
                intent=intent,
                start_date=starts,
                end_date=ends,
                regimen=regimen,
                intolerance_reason=np.where(intolerant, reasons, None).astype(object),
            ),
            len(pid),
        )

    def _hsct(self, ids: np.ndarray) -> None:
        r, n = self.rng, self.n
        prior = np.flatnonzero(self.prior_hsct)
        post = np.flatnonzero(self.hsct_obs)
        pid = np.concatenate([prior, post])
        date = np.concatenate([self.prior_hsct_date[prior], self.hsct_date[post]])
        number = np.concatenate([np.ones(len(prior), dtype=np.int64), 1 + self.prior_hsct[post]])
        in_cr = self.responder[post]
        relapses = self.n_rel[post]
        status_codes = codes(["CR1", "CR2", "CR3+", "not_in_CR"])
        status = np.concatenate([self.prior_hsct_status[prior], np.where(in_cr, np.minimum(relapses, 2), 3)])
        ino = np.concatenate([np.zeros(len(prior), dtype=bool), self.ino_obs[post]])
        order = np.lexsort((number, pid))
        pid, date, number, status, ino = (a[order] for a in (pid, date, number, status, ino))
        h = len(pid)
        age = (date - self.birth[pid]) / 365.25
        tbi = (age >= m.TBI_FROM_AGE) & (r.random(h) < m.TBI_SHARE)
        follow = self.last_contact[pid] - date
        chronic = codes(list(m.CGVHD))[choice(r, m.CGVHD_SHARE, h)]
        chronic = np.where(follow >= 100, chronic, None).astype(object)
        self.tables["hsct"] = frame(
            Hsct,
            dict(
                patient_id=ids[pid],
                hsct_number=number,
                hsct_date=date,
                donor_type=codes(list(m.DONORS))[choice(r, m.DONOR_SHARE, h)],
                conditioning=np.where(tbi, "tbi_based", "chemotherapy_only").astype(object),
                remission_status=status_codes[status],
                inotuzumab_before=ino,
                acute_gvhd_max_grade=choice(r, m.AGVHD, h),
                chronic_gvhd=chronic,
            ),
            h,
        )
