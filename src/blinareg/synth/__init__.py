"""Synthetic cohorts of B-ALL patients treated with blinatumomab. SYNTHETIC DATA, never real patients.

`generate(n_patients, seed)` returns a `blinareg.records.Registry` in which every record type is
populated, every row agrees with the clinical rules (doses from `rules.dosing`, ASTCT grades from the
recorded parameters, relapse timing and HSCT remission status from the recorded dates) and
`blinareg.records.validate` finds no error. Centers are "Synthetic Center N" with `synthetic=True`;
patients are SYN-000001, SYN-000002, ...

Generative model (numbers and their sources in `blinareg.synth.model`, described in
docs/synthetic-data.md):

1. Indication group (MRD clearance / chemotherapy intolerance / relapsed-refractory), sex, age at
   diagnosis (infants to young adults), relapses before blinatumomab (0-3 by group), first-infusion
   date (accrual from `start_year`); diagnosis and relapse dates are laid out backwards from it:
   first-relapse timing very early / early / late 36/34/30% (BFM definitions with margins), relapse
   sites 77/2/1/12/7/1% (testis only in males, same marginal), prior HSCT for some R/R patients.
2. Genetics (BCR::ABL1 30% of MC, 4% otherwise; other primary lesions), body size from age (height
   curve and BMI), doses by the label: >= 45 kg 9/28 mcg/day, < 45 kg 5/15 mcg/m2/day (Mosteller
   BSA, caps 9/28 mcg/day).
3. Response: baseline flow MRD lognormal (MC median 0.145%, RR median 8.4%); R/R CR by a logistic
   model in log MRD (about 85%; high load fails); flow MRD negativity after cycle 1 (logistic), later
   cycles clear 40% of the rest; RT-qPCR (BCR::ABL1) stays positive after flow turns negative in most
   BCR::ABL1 patients; Ig/TCR qPCR usually follows flow.
4. Cycles (1-5) by the label schedule (R/R step-up on day 8 of cycle 1; 28 infusion days, 14 off;
   consolidation alternating with chemotherapy), with CRS, fever, neurotoxicity, infection and
   cytopenia per cycle; grade-3 CRS/neurotoxicity (and some infections, technical problems) interrupt
   the infusion for <= 7 days (the cycle continues to 28 infusion days); grade 4 stops the course;
   non-responders may stop for progression; a few stops for cost. Planned and delivered dose segments
   (0.5% of cycles with a delivered dose 10% under plan).
5. After blinatumomab: HSCT (by group and response; inotuzumab first for 30% of CR2/3 patients),
   relapse with a cure fraction and Weibull times from HSCT (or from the end of blinatumomab), deaths
   after relapse, progression deaths of non-responders, non-relapse mortality (about 3.5% after
   HSCT), censoring at a last visit up to 60 days before `as_of` and 6% lost to follow-up.
"""

from blinareg.synth.generator import DEFAULT_AS_OF, default_center_count, generate

__all__ = ["generate", "DEFAULT_AS_OF", "default_center_count"]
