"""A hand-built cohort with known answers, shared by the derive tests.

RR1   relapsed/refractory, late isolated marrow first relapse, cycle 1 delivered as planned, CR after
      cycle 1, flow MRD negative and PCR positive on the same day, HSCT in CR2 with grade 3 acute and
      moderate chronic GVHD, alive.
NR    relapsed/refractory non-responder after a very early isolated marrow relapse; dies.
MC    MRD clearance in CR1 (2 cycles), MRD-positive at baseline, negative after cycle 1, isolated CNS
      relapse after blinatumomab, then dies.
NRMD  chemotherapy intolerance (in CR), dies of infection without relapse.
NOBLIN  no blinatumomab, no relapse, no MRD, alive.
SAME  a relapse diagnosed on the first infusion day (the index relapse; not an event after the origin);
      HSCT in CR2 with moderate chronic GVHD only.
"""

from __future__ import annotations

from tests.derive.factories import (
    D,
    adverse,
    build,
    course,
    delivered,
    genetic,
    hsct,
    interruption,
    mrd,
    person,
    relapse,
    response,
)


def cohort_records() -> list:
    records = []
    # RR1
    records += person(
        "RR1",
        birth=D(2006, 5, 1),
        dx=D(2014, 1, 1),
        frontline_end=D(2016, 6, 1),
        last_contact=D(2020, 6, 7),
        weight=50.0,
        height=160.0,
    )
    records += [genetic("RR1", "ETV6::RUNX1"), genetic("RR1", "other"), relapse("RR1", 1, D(2018, 5, 1), blasts=60.0)]
    records += course("RR1", D(2018, 5, 10))
    records += [
        delivered("RR1", 1, D(2018, 5, 10), D(2018, 5, 16), 9.0),
        delivered("RR1", 1, D(2018, 5, 17), D(2018, 6, 6), 28.0),
        response("RR1", D(2018, 6, 7), "crh", cycle=1),
        mrd("RR1", D(2018, 6, 7), "flow", fraction=None, sensitivity=1e-4),
        mrd("RR1", D(2018, 6, 7), "rt_qpcr_fusion", fraction=5e-4, sensitivity=1e-5),
        adverse(
            "RR1",
            1,
            "crs",
            2,
            D(2018, 5, 11),
            cycle=1,
            temperature_c=39.0,
            vasopressors=0,
            vasopressin=False,
            oxygen="low_flow",
        ),
        adverse(
            "RR1",
            2,
            "icans",
            3,
            D(2018, 5, 12),
            cycle=1,
            ice_score=5,
            consciousness="awakens_to_voice",
            seizure="none",
            motor="none",
            cerebral_edema="none",
        ),
        hsct("RR1", D(2018, 8, 1), status="CR2", acute=3, chronic="moderate"),
    ]
    # NR
    records += person("NR", birth=D(2010, 1, 1), dx=D(2018, 3, 1), frontline_end=None, death=D(2019, 5, 1))
    records += [relapse("NR", 1, D(2019, 1, 1), blasts=80.0)]
    records += course("NR", D(2019, 1, 10))
    records += [
        delivered("NR", 1, D(2019, 1, 10), D(2019, 1, 16), 28.0),  # wrong step: 28 in the step days
        delivered("NR", 1, D(2019, 1, 17), D(2019, 2, 6), 28.0),
        response("NR", D(2019, 2, 7), "no_response", cycle=1),
        adverse("NR", 1, "seizure", 3, D(2019, 1, 20), cycle=1),
        adverse("NR", 2, "infection", 4, D(2019, 4, 1)),
    ]
    # MC
    records += person(
        "MC", birth=D(2005, 2, 1), dx=D(2019, 1, 15), frontline_end=None, death=D(2021, 6, 1), weight=30.0, height=130.0
    )
    records += course("MC", D(2020, 1, 1), cycles=2, intent="mrd_clearance", indication="mrd_positive")
    records += [
        mrd("MC", D(2019, 12, 20), "flow", fraction=2e-3),
        mrd("MC", D(2020, 1, 29), "flow", sensitivity=1e-5),
        mrd("MC", D(2020, 1, 29), "ig_tcr_qpcr", sensitivity=1e-3),  # not detected, too coarse: not evaluable
        interruption("MC", 1, D(2020, 1, 5), D(2020, 1, 7)),
        relapse("MC", 1, D(2021, 1, 1), bm=False, cns=True, blasts=0.0),
    ]
    # NRMD
    records += person("NRMD", dx=D(2019, 6, 1), frontline_end=None, death=D(2020, 12, 1), cause="infection")
    records += course(
        "NRMD", D(2020, 3, 1), intent="chemotherapy_intolerance", indication="consolidation", early_stop="toxicity"
    )
    # NOBLIN
    records += person("NOBLIN", dx=D(2019, 1, 1), last_contact=D(2021, 1, 1))
    # SAME
    records += person("SAME", dx=D(2015, 1, 1), frontline_end=D(2017, 1, 1), last_contact=D(2021, 3, 1))
    records += [relapse("SAME", 1, D(2019, 3, 1), cns=True, blasts=30.0)]
    records += course("SAME", D(2019, 3, 1))
    records += [
        response("SAME", D(2019, 3, 29), "cr", cycle=1),
        hsct("SAME", D(2019, 6, 1), status="CR2", acute=1, chronic="moderate"),
    ]
    return records


def cohort():
    return build(cohort_records())
