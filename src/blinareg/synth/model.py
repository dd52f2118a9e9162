"""Parameters of the synthetic-cohort model, each with the published figure it follows.

The seed publications (see docs/synthetic-data.md):

- [S163] Vavilova et al., SIOP Asia 2025: 163 children (1-18 y) with relapsed BCP-ALL, 2014-2024.
- [S38]  Queudeville et al., Eur J Haematol 2021: 38 heavily pretreated R/R children (1-21 y), 78 cycles.
- [S28]  Li et al., ASH 2023: 28 children (0.6-16.4 y): MRD clearance in CR1 (MC 18), chemotherapy
  intolerance (IC 3), relapsed/refractory (RR 7).
- [S78]  Algeri et al., Haematologica 2025: 78 children/young adults given blinatumomab before HSCT.
- [CASE] Kuttymuratov et al., 2025: one young adult with a second (late, multiple) relapse.

Probabilities are shares of patients unless stated; durations are days. Group indices: 0 = MRD clearance
(MC), 1 = chemotherapy intolerance (IC), 2 = relapsed/refractory (RR).
"""

from __future__ import annotations

import numpy as np

MC, IC, RR = 0, 1, 2
GROUP_INTENT = ("mrd_clearance", "chemotherapy_intolerance", "relapsed_refractory")
# Dosing indication of each group: MC the label's MRD-positive schedule; IC (in remission, MRD mostly
# negative) the flat consolidation schedule interleaved with chemotherapy; RR the step-up schedule.
GROUP_INDICATION = ("mrd_positive", "consolidation", "relapsed_refractory")
# [S28] MC 18 / IC 3 / RR 7 of 28; [S163] all relapsed. Pooled: relapsed/refractory the majority.
GROUP_SHARE = np.array([0.30, 0.12, 0.58])

MALE_SHARE = 16 / 28  # [S28] 16 males, 12 females

# Relapses before the first blinatumomab, by group (columns: 0, 1, 2, 3 relapses).
# RR: [S163] 17/163 (10.4%) treated in second relapse; [CASE] a third. MC: [S28] CR1, with some CR2
# MRD-positive patients (label: CR1/CR2). IC: [S28] CR1; [S163] 27.6% of relapsed patients were given
# blinatumomab for toxicity, infection or MRD.
RELAPSES_BEFORE = np.array(
    [
        [0.80, 0.20, 0.00, 0.00],
        [0.50, 0.50, 0.00, 0.00],
        [0.00, 0.875, 0.105, 0.02],
    ]
)

# First-relapse timing (BFM): very early, early, late. [S163] 58/56/49 of 163.
TIMING_SHARE = np.array([0.356, 0.344, 0.300])
# Planned length of front-line therapy (end of maintenance), days: about two years.
FRONTLINE_DAYS = (700, 760)

# Relapse site: BM, CNS, testis, BM+CNS, BM+testis, BM+other EM. [S163] 126/3/1/19/12/2 of 163.
SITE_NAMES = ("BM", "CNS", "testis", "BM+CNS", "BM+testis", "BM+other EM")
SITE_SHARE = np.array([126, 3, 1, 19, 12, 2]) / 163
SITE_FLAGS = np.array(
    [  # bone marrow, CNS, testis, other extramedullary
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 1, 0],
        [1, 1, 0, 0],
        [1, 0, 1, 0],
        [1, 0, 0, 1],
    ],
    dtype=bool,
)
TESTIS_SITES = np.array([False, False, True, False, True, False])
# Relapses after blinatumomab (after HSCT mostly): more isolated CNS and combined relapses.
LATER_SITE_SHARE = np.array([0.65, 0.10, 0.03, 0.12, 0.04, 0.06])

# Age at diagnosis (years): infants, young children (peak 2-5 y), older children, young adults.
# [S28] 0.6-16.4 y (median 11 at blinatumomab); [S38] 1-21 (median 10); [S78] children and young adults.
AGE_MIXTURE = np.array([0.03, 0.55, 0.37, 0.05])
AGE_MIN_YEARS = 0.55

# Days from the last relapse (or diagnosis, in CR1) to the first blinatumomab infusion:
# (median, log-sd, min, max). [S28] diagnosis to blinatumomab: MC 3.7 (0.7-39.8) months, IC 1.4
# (1.1-16.8) months, RR 29.0 (4.9-62.1) months (the RR figure follows from the relapse times).
TO_BLINA_CR1 = {MC: (112, 0.8, 21, 1200), IC: (42, 0.6, 33, 500)}
TO_BLINA_AFTER_RELAPSE = {MC: (100, 0.3, 50, 200), IC: (90, 0.35, 40, 200), RR: (40, 0.45, 20, 120)}
RELAPSE_GAP = (480, 0.45, 300, 1500)  # between relapses before blinatumomab

# BCR::ABL1 share by group. [S28] 6 of 18 MC, 1 of 7 RR, 0 of 3 IC; pediatric relapse cohorts ~3-5%.
BCR_ABL1_SHARE = np.array([0.30, 0.04, 0.04])
# Primary lesion of the others (share of all non-BCR::ABL1 patients; the rest have no finding recorded).
LESIONS = ("ETV6::RUNX1", "high_hyperdiploidy", "KMT2A-r", "TCF3::PBX1", "Ph-like", "iAMP21", "hypodiploidy")
LESION_SHARE = np.array([0.14, 0.20, 0.04, 0.04, 0.08, 0.02, 0.02])
OTHER_FINDING_SHARE = 0.04  # an additional "other" finding ([CASE] t(1;6))
OTHER_DETAILS = ("t(1;6)", "complex karyotype", "IKZF1 deletion", "CDKN2A/B deletion", "PAX5 alteration")
IMMUNOPHENOTYPES = ("B-I", "B-II", "B-III")
IMMUNOPHENOTYPE_SHARE = np.array([0.08, 0.70, 0.22])  # [CASE] B-II
FRONTLINE_PROTOCOLS = ("AIEOP-BFM ALL 2017", "ALL-MB 2015", "CCCG-ALL-2015", "ALL IC-BFM 2009", "ALL-BFM 2000")

# Prior HSCT (relapsed/refractory only). [S38] 71% of a heavily pretreated cohort; [S163] few.
PRIOR_HSCT_AFTER_FIRST_RELAPSE = 0.60  # patients in second or third relapse: HSCT in CR2
PRIOR_HSCT_IN_CR1 = 0.10  # patients in first relapse: HSCT in CR1

# Baseline MRD by flow (fraction): (median, log10-sd, min, max).
# [S28] MC median 0.145% (0.01-4%); RR median 8.37% (0.08-78.3%); IC all negative.
MRD0 = {MC: (0.00145, 0.55, 1.0e-4, 0.04), RR: (0.0837, 0.75, 8.0e-4, 0.90)}
IC_MRD_POSITIVE = 0.20  # IC patients with a low positive MRD at the start
IC_MRD0 = (0.0008, 0.3, 1.5e-4, 0.005)
BCR_ABL1_FLOW_NEGATIVE_AT_START = 0.40  # [S28] 2 of 5 BCR::ABL1 non-clearers positive by RT-PCR only
IG_TCR_PCR_SHARE = 0.35  # patients followed by Ig/TCR qPCR besides flow

# Hematologic response of RR patients: logistic in log10(MRD0 / median).
# [S163] CR 138/163 (85%); [S28] high load (>= 22%) failed; [S38] 34% in heavily pretreated patients.
RR_CR_INTERCEPT = 3.2
RR_CR_SLOPE_LOG10_MRD = -0.8
HIGH_LOAD = 0.20  # [S28] R/R patients with MRD 22.6-78.3% failed
RR_CR_HIGH_LOAD = -1.8
RR_CR_PRIOR_HSCT = -1.6
RR_CR_LATER_RELAPSE = -0.5
RR_LATE_RESPONDER = 0.10  # PR after cycle 1, CR after cycle 2
RR_CR_KIND = np.array([0.85, 0.10, 0.05])  # CR, CRh, CRi at the first remission assessment

# Flow MRD negativity after cycle 1 (logistic in log10(MRD0 / group median)); later cycles clear a
# persisting MRD with CLEAR_LATER per cycle. [S28] MC 13/18 (72%) negative by FC and PCR; all
# non-BCR::ABL1 MC patients cleared; BCR::ABL1 patients FC-negative but RT-PCR-positive.
FLOW_NEG_C1 = {MC: (2.8, -0.9), IC: (2.2, 0.0), RR: (1.6, -0.6)}
RR_FLOW_HIGH_LOAD = -2.0
BCR_ABL1_FLOW_NEG_C1 = 0.90
CLEAR_LATER = 0.40
PCR_NEG_WITH_FLOW = {"rt_qpcr_fusion": 0.20, "ig_tcr_qpcr": 0.92}  # PCR also negative when flow turns negative
PCR_CLEAR_LATER = {"rt_qpcr_fusion": 0.25, "ig_tcr_qpcr": 0.60}
FLOW_SENSITIVITY_1E5 = 0.20  # share of flow assays at 1e-5 (the rest 1e-4)
PCR_SENSITIVITY_1E4 = 0.20  # share of PCR assays at 1e-4 (the rest 1e-5)

# Cycles given (before early stops). [S28] most 1 cycle, 7/28 got 1-3 more; [S38] 78 cycles / 38
# patients; [CASE] 5 cycles. Columns: 1..5 cycles.
CYCLES = {
    MC: np.array([0.60, 0.25, 0.10, 0.05, 0.00]),
    IC: np.array([0.50, 0.30, 0.15, 0.05, 0.00]),
    RR: np.array([0.42, 0.36, 0.12, 0.05, 0.05]),
    "rr_non_responder": np.array([0.75, 0.25, 0.0, 0.0, 0.0]),
}
CYCLE_DELAY = (0.30, 1, 10)  # share of cycles starting late, and the delay range (days)
IC_CHEMO_GAP = (14, 35)  # consolidation cycles alternate with chemotherapy

# Adverse events per cycle: probability by group (MC, IC, RR); cycle 1 vs later.
# [S38] nearly half CRS, febrile reactions predominant, 8 neurotoxicity events / 78 cycles (10-15%);
# [S28] MC fever 9/18 in cycle 1, one grade 4 ICANS on day 2; IC fever 3/3; RR CRS grade 2 in 2/7.
CRS_C1 = np.array([0.18, 0.10, 0.50])
CRS_LATER = np.array([0.03, 0.02, 0.08])
CRS_GRADES = {
    MC: np.array([0.70, 0.25, 0.05, 0.0]),
    IC: np.array([0.70, 0.25, 0.05, 0.0]),
    RR: np.array([0.55, 0.33, 0.09, 0.03]),
}
FEVER_C1 = np.array([0.45, 0.80, 0.25])  # fever without CRS criteria (infusion reaction)
FEVER_LATER = np.array([0.08, 0.10, 0.08])
NEURO = np.array([0.06, 0.05, 0.10])
NEURO_PRIOR_HSCT = 0.17  # heavily pretreated [S38]
NEURO_TERMS = ("icans", "tremor", "encephalopathy", "seizure", "other_neurotoxicity")
NEURO_TERM_SHARE = np.array([0.45, 0.20, 0.10, 0.08, 0.17])
NEURO_GRADES = np.array(
    [  # grade 1..4 per term (tremor 1-3)
        [0.50, 0.30, 0.16, 0.04],
        [0.60, 0.30, 0.10, 0.00],
        [0.50, 0.30, 0.17, 0.03],
        [0.30, 0.40, 0.27, 0.03],
        [0.60, 0.30, 0.10, 0.00],
    ]
)
OTHER_NEURO_TEXT = ("headache", "aphasia", "dizziness", "confusion")
INFECTION = np.array([0.10, 0.15, 0.20])
INFECTION_GRADES = np.array([0.45, 0.45, 0.10])  # grades 2, 3, 4
INFECTION_TEXT = (
    "febrile neutropenia",
    "fungal pneumonia",
    "catheter-related bloodstream infection",
    "acute rhinosinusitis",
    "viral upper respiratory infection",
)
CYTOPENIA = np.array([0.08, 0.10, 0.25])
CYTOPENIA_GRADES = np.array([0.60, 0.40])  # grades 3, 4
CYTOPENIA_TEXT = ("neutropenia", "thrombocytopenia", "anemia")
TECHNICAL_INTERRUPTION = 0.02  # line, pump or bag problem
INFECTION_INTERRUPTS = 0.30  # grade-3 infections that interrupt the infusion
EARLY_STOP_COST, EARLY_STOP_OTHER = 0.004, 0.004  # [S28] one MC patient stopped after 7 days (cost)
PROGRESSION_STOP = 0.50  # non-responders stopped early in their last cycle
DOSE_DEVIATION = 0.005  # cycles with a delivered dose 10% under the plan (a realistic pump/BSA error)

# After blinatumomab. [S78] 2-year DFS 72.2%, OS 89.2%, NRM 2.6%; CIR CR1 0% vs CR2/3 29.9%;
# CR2/3 with inotuzumab 9.5% vs 40.4% without; 2-year post-relapse OS 52.7%.
# [S163] OS 54%, EFS 43%, CIR 33% mostly after HSCT. [S38] survivors all had (haplo) HSCT after.
HSCT_AFTER = {MC: 0.65, IC: 0.45, RR: 0.75, "rr_prior_hsct": 0.55, "rr_non_responder": 0.12}
TO_HSCT = (35, 0.4, 14, 120)
INOTUZUMAB_BEFORE_HSCT = 0.30  # CR2/3 patients given inotuzumab between blinatumomab and HSCT
DONORS = ("haploidentical", "mud", "msd", "mmud", "cord")
DONOR_SHARE = np.array([0.40, 0.30, 0.20, 0.08, 0.02])
TBI_FROM_AGE = 4.0
TBI_SHARE = 0.75
AGVHD = np.array([0.50, 0.20, 0.18, 0.09, 0.03])  # grades 0-IV
CGVHD = ("none", "mild", "moderate", "severe")
CGVHD_SHARE = np.array([0.75, 0.12, 0.09, 0.04])

# Relapse after blinatumomab: cure fraction; the others relapse at Weibull times from the anchor
# (HSCT, else end of blinatumomab) with this shape and median.
RELAPSE_PRONE = {
    (MC, True): 0.05,
    (MC, False): 0.30,
    (IC, True): 0.10,
    (IC, False): 0.25,
    ("cr2", "ino"): 0.12,
    ("cr2", True): 0.42,
    ("cr2", False): 0.70,
}
RELAPSE_MRD_POSITIVE_FACTOR = 1.6
RELAPSE_PRIOR_HSCT_FACTOR = 1.2
RELAPSE_WEIBULL = (1.2, 240.0)
DEATH_AFTER_RELAPSE = 0.60
DEATH_AFTER_RELAPSE_TIME = (180, 0.7, 14, 3000)
SALVAGE = ("car_t", "inotuzumab", "chemotherapy")
SALVAGE_SHARE = np.array([0.55, 0.20, 0.25])  # [S78] 10 of 16 post-HSCT relapses CAR T, 2 inotuzumab
NON_RESPONDER_DEATH = 0.90
NON_RESPONDER_DEATH_TIME = (120, 0.8, 10, 3000)
NON_RESPONDER_HSCT_DEATH = 0.60
NRM_HSCT = 0.035
NRM_HSCT_TIME = (120, 0.9, 10, 1500)
NRM_HSCT_CAUSES = ("infection", "gvhd", "treatment_toxicity", "other")
NRM_HSCT_CAUSE_SHARE = np.array([0.45, 0.35, 0.15, 0.05])
NRM_NO_HSCT = 0.015
NRM_NO_HSCT_TIME = (200, 0.9, 10, 2000)
NRM_NO_HSCT_CAUSES = ("infection", "treatment_toxicity", "other")
NRM_NO_HSCT_CAUSE_SHARE = np.array([0.60, 0.30, 0.10])

# Observation: the last visit lies up to this many days before `as_of`; some are lost to follow-up.
VISIT_LAG = (0, 60)
LOST_TO_FOLLOW_UP = 0.06
MIN_DAYS_BEFORE_AS_OF = 365  # the first infusion is at least a year before `as_of`

# CD19 on the blasts at relapse (not in the seed reports; plausible shares): relapses before
# blinatumomab are almost all CD19-positive (its target); after blinatumomab CD19-negative or dim
# escape is the known failure mode.
CD19_STATUS = ("positive", "dim", "negative", "not_tested")
CD19_SHARE_BEFORE = np.array([0.88, 0.04, 0.02, 0.06])
CD19_SHARE_AFTER = np.array([0.62, 0.10, 0.18, 0.10])
# Reason of chemotherapy intolerance on the blinatumomab line of the chemotherapy_intolerance group
# (plausible shares, not from the seed reports: infections and pancreatitis lead in pediatric ALL).
INTOLERANCE_REASONS = (
    "pancreatitis",
    "infection",
    "organ_toxicity",
    "neurotoxicity",
    "thrombosis",
    "myelosuppression",
    "hypersensitivity",
    "other",
)
INTOLERANCE_SHARE = np.array([0.20, 0.30, 0.15, 0.08, 0.07, 0.12, 0.05, 0.03])
