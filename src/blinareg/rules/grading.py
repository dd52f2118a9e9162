"""Adverse-event grading: ASTCT consensus CRS and ICANS, CTCAE v5 encephalopathy, seizure and tremor.

Sources: Lee et al., ASTCT consensus grading for CRS and neurologic toxicity, Biol Blood Marrow
Transplant 2019; NCI CTCAE v5.0 (both as read in clinical-rules.md §2). Thresholds that a center may
configure (fever 38.0 C, low-flow <= 6 L/min, the CAPD age cut-off, CAPD >= 9) come from the
`RuleSet`; the domain tables below are the consensus tables themselves.

`grade_adverse_event` computes the grade from whatever parameters were recorded and returns None when
they do not determine it (every completion of the missing parameters is tried: the grade is returned
only when all of them agree), so that `validate` can compare a recorded grade without false alarms.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from blinareg.rules.errors import RuleInputError, check_bool, check_enum, check_int, check_number
from blinareg.rules.outcome import RuleResult
from blinareg.rules.ruleset import DEFAULT_RULES, SRC_ASTCT, RuleSet
from blinareg.rules.vocabulary import (
    AdverseEventTerm,
    CerebralEdema,
    Consciousness,
    CtcaeSeizure,
    CtcaeSeverity,
    GradingSystem,
    IcansMotor,
    IcansSeizure,
    OxygenSupport,
)

K = TypeVar("K")
T = TypeVar("T")

__all__ = [
    "CrsGrade",
    "IcansGrade",
    "CtcaeGrade",
    "ComputedGrade",
    "SUPPORTED_GRADING",
    "SRC_CTCAE",
    "grade_crs",
    "grade_icans",
    "grade_ctcae",
    "grade_adverse_event",
    "nasal_cannula_support",
    "uses_capd",
]

SRC_CTCAE = "NCI Common Terminology Criteria for Adverse Events v5.0 (clinical-rules.md §2)"

# ASTCT hypoxia domain: oxygen support -> CRS grade (Lee et al. 2019, table of CRS grading).
_HYPOXIA_GRADE: dict[OxygenSupport, int] = {
    OxygenSupport.NONE: 0,
    OxygenSupport.LOW_FLOW: 2,
    OxygenSupport.HIGH_FLOW: 3,
    OxygenSupport.FACEMASK: 3,
    OxygenSupport.NON_REBREATHER: 3,
    OxygenSupport.VENTURI: 3,
    OxygenSupport.CPAP_BIPAP: 4,
    OxygenSupport.MECHANICAL_VENTILATION: 4,
}

# ASTCT ICANS domains -> grade (Lee et al. 2019, ICANS grading table).
_CONSCIOUSNESS_GRADE: dict[Consciousness, int] = {
    Consciousness.NORMAL: 0,
    Consciousness.AWAKENS_SPONTANEOUSLY: 1,
    Consciousness.AWAKENS_TO_VOICE: 2,
    Consciousness.AWAKENS_TO_TOUCH: 3,
    Consciousness.UNAROUSABLE: 4,
}
_SEIZURE_GRADE: dict[IcansSeizure, int] = {
    IcansSeizure.NONE: 0,
    IcansSeizure.FOCAL_OR_GENERALIZED_RESOLVING: 3,
    IcansSeizure.PROLONGED_OR_REPETITIVE: 4,
}
_MOTOR_GRADE: dict[IcansMotor, int] = {IcansMotor.NONE: 0, IcansMotor.DEEP_FOCAL_WEAKNESS: 4}
_EDEMA_GRADE: dict[CerebralEdema, int] = {CerebralEdema.NONE: 0, CerebralEdema.FOCAL: 3, CerebralEdema.DIFFUSE: 4}

# CTCAE v5 wording -> grade.
_CTCAE_SEVERITY: dict[str, tuple[int, str]] = {
    CtcaeSeverity.MILD: (1, "mild symptoms"),
    CtcaeSeverity.MODERATE: (2, "moderate symptoms; limiting instrumental ADL"),
    CtcaeSeverity.SEVERE: (3, "severe symptoms; limiting self-care ADL"),
    CtcaeSeverity.LIFE_THREATENING: (4, "life-threatening consequences; urgent intervention indicated"),
    CtcaeSeverity.DEATH: (5, "death"),
}
_CTCAE: dict[AdverseEventTerm, dict[str, tuple[int, str]]] = {
    AdverseEventTerm.ENCEPHALOPATHY: _CTCAE_SEVERITY,
    AdverseEventTerm.SEIZURE: {
        CtcaeSeizure.BRIEF_PARTIAL: (1, "brief partial seizure; no loss of consciousness"),
        CtcaeSeizure.BRIEF_GENERALIZED: (2, "brief generalized seizure"),
        CtcaeSeizure.NEW_ONSET_OR_MULTIPLE: (3, "new onset seizures; multiple seizures despite medical intervention"),
        CtcaeSeizure.LIFE_THREATENING: (4, "life-threatening; prolonged repetitive seizures"),
        CtcaeSeizure.DEATH: (5, "death"),
    },
    # Tremor has grades 1-3 only, worded as the general severity scale.
    AdverseEventTerm.TREMOR: {severity: _CTCAE_SEVERITY[severity] for severity in list(CtcaeSeverity)[:3]},
}
_CTCAE_FINDING_TYPE: dict[AdverseEventTerm, type[CtcaeSeverity] | type[CtcaeSeizure]] = {
    AdverseEventTerm.ENCEPHALOPATHY: CtcaeSeverity,
    AdverseEventTerm.SEIZURE: CtcaeSeizure,
    AdverseEventTerm.TREMOR: CtcaeSeverity,
}

SUPPORTED_GRADING: frozenset[tuple[AdverseEventTerm, GradingSystem]] = frozenset(
    {
        (AdverseEventTerm.CRS, GradingSystem.ASTCT),
        (AdverseEventTerm.ICANS, GradingSystem.ASTCT),
        (AdverseEventTerm.ENCEPHALOPATHY, GradingSystem.CTCAE_V5),
        (AdverseEventTerm.SEIZURE, GradingSystem.CTCAE_V5),
        (AdverseEventTerm.TREMOR, GradingSystem.CTCAE_V5),
    }
)


@dataclass(frozen=True, kw_only=True)
class CrsGrade(RuleResult):
    """ASTCT CRS grade; 0 means the CRS criteria are not met (no fever)."""

    grade: int
    fever: bool
    hypotension_grade: int
    hypoxia_grade: int


@dataclass(frozen=True, kw_only=True)
class IcansGrade(RuleResult):
    """ASTCT ICANS grade (0: no ICANS) with the grade of each domain."""

    grade: int
    tool: str  # "ICE" (adults and older children) or "CAPD" (young children)
    domain_grades: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class CtcaeGrade:
    """CTCAE v5 grade of an adverse event term, with the criterion that gave it."""

    term: AdverseEventTerm
    grade: int
    criterion: str
    source: str


@dataclass(frozen=True, kw_only=True)
class ComputedGrade(RuleResult):
    """A grade computed from recorded parameters, for comparison with a recorded grade."""

    term: AdverseEventTerm
    grading_system: GradingSystem
    grade: int


# --- CRS --------------------------------------------------------------------------------------------


def nasal_cannula_support(oxygen_flow_l_min: float, *, rules: RuleSet = DEFAULT_RULES) -> OxygenSupport:
    """Nasal-cannula oxygen at `oxygen_flow_l_min` as ASTCT support: low-flow up to 6 L/min, else high-flow.

    Source: ASTCT consensus (Lee et al. 2019), clinical-rules.md §2; threshold `low_flow_max_l_min`.
    """
    flow = check_number("oxygen_flow_l_min", oxygen_flow_l_min)
    if flow == 0:
        return OxygenSupport.NONE
    return OxygenSupport.LOW_FLOW if flow <= rules.low_flow_max_l_min.value else OxygenSupport.HIGH_FLOW


def _hypotension_grade(hypotension: bool, vasopressors: int, vasopressin: bool) -> int:
    if vasopressors >= 2:
        return 4  # several vasopressors (vasopressin excluded)
    if vasopressors == 1 or vasopressin:
        return 3  # one vasopressor with or without vasopressin
    return 2 if hypotension else 0


def _crs_grade(
    fever: bool, hypotension: bool, vasopressors: int, vasopressin: bool, oxygen: OxygenSupport, fatal: bool
) -> tuple[int, int, int]:
    hypo = _hypotension_grade(hypotension, vasopressors, vasopressin)
    hypoxia = _HYPOXIA_GRADE[oxygen]
    if not fever:
        return 0, hypo, hypoxia
    if fatal:
        return 5, hypo, hypoxia
    return max(1, hypo, hypoxia), hypo, hypoxia


def _check_oxygen(oxygen: OxygenSupport, flow: float | None, rules: RuleSet) -> None:
    if flow is None:
        return
    low_max = rules.low_flow_max_l_min.value
    if oxygen is OxygenSupport.NONE and flow > 0:
        raise RuleInputError("oxygen_flow_l_min", flow, "contradicts oxygen=none")
    if oxygen is OxygenSupport.LOW_FLOW and flow > low_max:
        raise RuleInputError(
            "oxygen_flow_l_min", flow, f"contradicts oxygen=low_flow (low-flow is <= {low_max:g} L/min)"
        )
    if oxygen is OxygenSupport.HIGH_FLOW and flow <= low_max:
        raise RuleInputError(
            "oxygen_flow_l_min", flow, f"contradicts oxygen=high_flow (high-flow is > {low_max:g} L/min)"
        )


def grade_crs(
    temperature_c: float | None,
    vasopressors: int = 0,
    vasopressin: bool = False,
    oxygen: OxygenSupport | str = OxygenSupport.NONE,
    *,
    oxygen_flow_l_min: float | None = None,
    hypotension: bool = False,
    fever_masked: bool = False,
    fatal: bool = False,
    rules: RuleSet = DEFAULT_RULES,
) -> CrsGrade:
    """ASTCT consensus CRS grade (Lee et al., Biol Blood Marrow Transplant 2019; clinical-rules.md §2).

    Fever is a temperature >= 38.0 C (`crs_fever_min_c`), not required when `fever_masked` (after
    antipyretics, tocilizumab or steroids); without fever the CRS criteria are not met (grade 0). The
    grade is the more severe of hypotension and hypoxia: hypotension without vasopressors 2, one
    vasopressor with or without vasopressin 3, several vasopressors (vasopressin excluded) 4; low-flow
    nasal cannula (<= 6 L/min, `low_flow_max_l_min`) or blow-by 2, high-flow nasal cannula, facemask,
    non-rebreather or Venturi 3, CPAP/BiPAP or mechanical ventilation 4; death from CRS 5.
    `vasopressors` counts vasopressors other than vasopressin; vasopressin alone counts as one.
    `oxygen_flow_l_min`, when given, must agree with low-flow / high-flow.
    """
    vaso = check_int("vasopressors", vasopressors)
    vasopressin_ = check_bool("vasopressin", vasopressin)
    oxy = check_enum("oxygen", oxygen, OxygenSupport)
    flow = check_number("oxygen_flow_l_min", oxygen_flow_l_min, allow_none=True)
    hypo = check_bool("hypotension", hypotension)
    masked = check_bool("fever_masked", fever_masked)
    died = check_bool("fatal", fatal)
    temp = check_number("temperature_c", temperature_c, allow_none=masked)
    _check_oxygen(oxy, flow, rules)
    threshold = rules.crs_fever_min_c.value
    fever = masked or (temp is not None and temp >= threshold)
    grade, hypo_grade, hypoxia_grade = _crs_grade(fever, hypo, vaso, vasopressin_, oxy, died)
    if not fever:
        reason = f"no fever (temperature {temp:g} C < {threshold:g} C, not masked): CRS criteria not met"
    elif died:
        reason = "death from CRS"
    else:
        fever_text = "fever masked by antipyretics/tocilizumab/steroids" if masked else f"fever {temp:g} C"
        reason = (
            f"{fever_text}; hypotension grade {hypo_grade}, hypoxia grade {hypoxia_grade} "
            f"({oxy.value}); grade = the more severe"
        )
    return CrsGrade(
        grade=grade,
        fever=fever,
        hypotension_grade=hypo_grade,
        hypoxia_grade=hypoxia_grade,
        reason=reason,
        source=SRC_ASTCT,
        unconfirmed_rules=(),
    )


# --- ICANS ------------------------------------------------------------------------------------------


def uses_capd(age_years: float, *, rules: RuleSet = DEFAULT_RULES) -> bool:
    """Whether ICANS is assessed with CAPD instead of ICE at `age_years` (ASTCT, clinical-rules.md §2).

    Age is compared in completed years: under `capd_age_cutoff_years` (12), or at it too when
    `capd_age_cutoff_inclusive` (UNCONFIRMED whether the consensus means "< 12" or "<= 12").
    """
    age = check_number("age_years", age_years)
    completed = math.floor(age)
    cutoff = rules.capd_age_cutoff_years.value
    return completed <= cutoff if rules.capd_age_cutoff_inclusive.value else completed < cutoff


def _ice_domain(score: int) -> int:
    if score == 10:
        return 0
    if score >= 7:
        return 1
    if score >= 3:
        return 2
    return 3  # 0-2; grade 4 (unarousable, unable to perform ICE) comes from consciousness / unable_to_assess


def _capd_domain(score: int, rules: RuleSet) -> int:
    if score == 0:
        return 0
    return 3 if score >= rules.capd_delirium_min.value else 1  # 1-8: grade 1 or 2 by consciousness


def _range(values: list[int]) -> tuple[int, int]:
    return min(values), max(values)


def _icans_domains(
    capd: bool,
    ice_score: int | None,
    capd_score: int | None,
    consciousness: Consciousness | None,
    seizure: IcansSeizure | None,
    motor: IcansMotor | None,
    edema: CerebralEdema | None,
    unable_to_assess: bool | None,
    rules: RuleSet,
) -> list[tuple[str, int, int]]:
    """(domain, lowest possible grade, highest possible grade); unknown domains span their range."""
    tool = "CAPD" if capd else "ICE"
    if unable_to_assess:
        score = (4, 4)
    else:
        given = capd_score if capd else ice_score
        if given is not None:
            grade = _capd_domain(given, rules) if capd else _ice_domain(given)
            score = (grade, grade)
        else:
            score = (0, 3 if unable_to_assess is False else 4)
    return [
        (f"{tool} score", *score),
        ("consciousness", *_domain_grades(_CONSCIOUSNESS_GRADE, consciousness)),
        ("seizure", *_domain_grades(_SEIZURE_GRADE, seizure)),
        ("motor", *_domain_grades(_MOTOR_GRADE, motor)),
        ("cerebral_edema", *_domain_grades(_EDEMA_GRADE, edema)),
    ]


def _domain_grades(table: Mapping[K, int], value: K | None) -> tuple[int, int]:
    """(lowest, highest) grade of a domain: its grade when known, else the span of the table."""
    return (table[value], table[value]) if value is not None else _range(list(table.values()))


def grade_icans(
    age_years: float,
    ice_score: int | None = None,
    capd_score: int | None = None,
    consciousness: Consciousness | str = Consciousness.NORMAL,
    seizure: IcansSeizure | str = IcansSeizure.NONE,
    motor: IcansMotor | str = IcansMotor.NONE,
    cerebral_edema: CerebralEdema | str = CerebralEdema.NONE,
    *,
    unable_to_assess: bool = False,
    rules: RuleSet = DEFAULT_RULES,
) -> IcansGrade:
    """ASTCT consensus ICANS grade: the most severe domain (Lee et al. 2019; clinical-rules.md §2).

    ICE score (adults and children from the CAPD cut-off): 10 -> 0, 7-9 -> 1, 3-6 -> 2, 0-2 -> 3.
    CAPD (children under 12, `uses_capd`): 0 -> 0, 1-8 -> 1 (2 when awakening only to voice),
    >= 9 (`capd_delirium_min`) -> 3. `unable_to_assess` (unarousable, cannot perform ICE/CAPD) -> 4.
    Consciousness: awakens spontaneously 1, to voice 2, only to touch 3, unarousable 4. Seizure:
    rapidly resolving clinical or EEG seizure 3, prolonged (> 5 min) or repetitive 4. Motor: deep
    focal weakness 4. Cerebral edema: focal 3, diffuse (or posturing, CN VI palsy, papilledema,
    Cushing's triad) 4. Tremor and myoclonus do not change the ICANS grade (grade them by CTCAE).
    Give the score of the tool that applies at `age_years`; the other one is refused.
    """
    age = check_number("age_years", age_years)
    capd = uses_capd(age, rules=rules)
    ice = None if ice_score is None else check_int("ice_score", ice_score)
    capd_value = None if capd_score is None else check_int("capd_score", capd_score)
    level = check_enum("consciousness", consciousness, Consciousness)
    seiz = check_enum("seizure", seizure, IcansSeizure)
    mot = check_enum("motor", motor, IcansMotor)
    edema = check_enum("cerebral_edema", cerebral_edema, CerebralEdema)
    unable = check_bool("unable_to_assess", unable_to_assess)
    tool = "CAPD" if capd else "ICE"
    wrong, wrong_value = ("ice_score", ice) if capd else ("capd_score", capd_value)
    if wrong_value is not None:
        raise RuleInputError(
            wrong,
            wrong_value,
            f"is not used at age {age:g}: ICANS is assessed with {tool} (CAPD {_capd_rule_text(rules)})",
        )
    if not unable and (capd_value if capd else ice) is None:
        name = "capd_score" if capd else "ice_score"
        raise RuleInputError(name, None, f"is required at age {age:g} ({tool}); or set unable_to_assess")
    domains = _icans_domains(capd, ice, capd_value, level, seiz, mot, edema, unable, rules)
    grade = max(high for _, _, high in domains)
    worst = [name for name, _, high in domains if high == grade and grade > 0]
    reason = (
        f"{tool} at age {age:g}; domain grades "
        + ", ".join(f"{name} {high}" for name, _, high in domains)
        + (f"; grade {grade} from {', '.join(worst)}" if grade else "; no ICANS")
    )
    return IcansGrade(
        grade=grade,
        tool=tool,
        domain_grades=tuple((name, high) for name, _, high in domains),
        reason=reason,
        source=SRC_ASTCT,
        unconfirmed_rules=_unconfirmed(rules, ("capd_age_cutoff_years", "capd_age_cutoff_inclusive")),
    )


def _capd_rule_text(rules: RuleSet) -> str:
    relation = "<=" if rules.capd_age_cutoff_inclusive.value else "<"
    return f"for completed age {relation} {rules.capd_age_cutoff_years.value}"


def _unconfirmed(rules: RuleSet, names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name for name in names if rules.rule(name).unconfirmed)


# --- CTCAE ------------------------------------------------------------------------------------------


def grade_ctcae(term: AdverseEventTerm | str, finding: str, *, rules: RuleSet = DEFAULT_RULES) -> CtcaeGrade:
    """CTCAE v5 grade of encephalopathy, seizure or tremor from its wording (clinical-rules.md §2).

    Encephalopathy (`CtcaeSeverity`): mild 1, moderate (limiting instrumental ADL) 2, severe (limiting
    self-care ADL) 3, life-threatening 4, death 5. Seizure (`CtcaeSeizure`): brief partial without loss
    of consciousness 1, brief generalized 2, new onset or multiple despite intervention 3,
    life-threatening prolonged repetitive 4, death 5. Tremor (`CtcaeSeverity`): grades 1-3 only.
    `rules` is accepted for a uniform signature.
    """
    name = check_enum("term", term, AdverseEventTerm)
    if name not in _CTCAE:
        legal = ", ".join(t.value for t in _CTCAE)
        raise RuleInputError("term", name.value, f"has no CTCAE rule here; legal: {legal}")
    value = check_enum("finding", finding, _CTCAE_FINDING_TYPE[name])
    table = _CTCAE[name]
    if value not in table:
        raise RuleInputError(
            "finding", value.value, f"is not a CTCAE v5 {name.value} grade; legal: " + ", ".join(str(k) for k in table)
        )
    grade, criterion = table[value]
    return CtcaeGrade(name, grade, criterion, SRC_CTCAE)


# --- from recorded parameters -----------------------------------------------------------------------


def grade_adverse_event(
    term: AdverseEventTerm | str,
    grading_system: GradingSystem | str,
    *,
    temperature_c: float | None = None,
    vasopressors: int | None = None,
    vasopressin: bool | None = None,
    hypotension: bool | None = None,
    oxygen: OxygenSupport | str | None = None,
    oxygen_flow_l_min: float | None = None,
    fever_masked: bool = False,
    fatal: bool = False,
    age_years: float | None = None,
    ice_score: int | None = None,
    capd_score: int | None = None,
    consciousness: Consciousness | str | None = None,
    seizure: IcansSeizure | str | None = None,
    motor: IcansMotor | str | None = None,
    cerebral_edema: CerebralEdema | str | None = None,
    unable_to_assess: bool | None = None,
    finding: str | None = None,
    rules: RuleSet = DEFAULT_RULES,
) -> ComputedGrade | None:
    """The grade the recorded parameters determine, or None when they do not determine one.

    Rules as in `grade_crs`, `grade_icans` and `grade_ctcae` (ASTCT 2019 and CTCAE v5,
    clinical-rules.md §2). A parameter left None is unknown: every value it could take is tried, and
    the grade is returned only when all completions give the same grade (e.g. a prolonged seizure is
    ICANS grade 4 whatever the ICE score). None also when (term, grading_system) is not in
    `SUPPORTED_GRADING`. Impossible values still raise `RuleInputError`.
    """
    name = check_enum("term", term, AdverseEventTerm)
    system = check_enum("grading_system", grading_system, GradingSystem)
    if (name, system) not in SUPPORTED_GRADING:
        return None
    if name is AdverseEventTerm.CRS:
        return _crs_from_parameters(
            temperature_c, vasopressors, vasopressin, hypotension, oxygen, oxygen_flow_l_min, fever_masked, fatal, rules
        )
    if name is AdverseEventTerm.ICANS:
        return _icans_from_parameters(
            age_years, ice_score, capd_score, consciousness, seizure, motor, cerebral_edema, unable_to_assess, rules
        )
    if finding is None:
        return None
    result = grade_ctcae(name, finding, rules=rules)
    return ComputedGrade(
        term=name,
        grading_system=system,
        grade=result.grade,
        reason=result.criterion,
        source=result.source,
        unconfirmed_rules=(),
    )


def _options(value: T | None, all_values: tuple[T, ...]) -> tuple[T, ...]:
    """The recorded value, or every value it could have been when unknown."""
    return all_values if value is None else (value,)


def _crs_from_parameters(
    temperature_c: float | None,
    vasopressors: int | None,
    vasopressin: bool | None,
    hypotension: bool | None,
    oxygen: OxygenSupport | str | None,
    oxygen_flow_l_min: float | None,
    fever_masked: bool,
    fatal: bool,
    rules: RuleSet,
) -> ComputedGrade | None:
    temp = check_number("temperature_c", temperature_c, allow_none=True)
    vaso = None if vasopressors is None else check_int("vasopressors", vasopressors)
    vasopressin_ = None if vasopressin is None else check_bool("vasopressin", vasopressin)
    hypo = None if hypotension is None else check_bool("hypotension", hypotension)
    oxy = None if oxygen is None else check_enum("oxygen", oxygen, OxygenSupport)
    flow = check_number("oxygen_flow_l_min", oxygen_flow_l_min, allow_none=True)
    masked, died = check_bool("fever_masked", fever_masked), check_bool("fatal", fatal)
    if oxy is not None:
        _check_oxygen(oxy, flow, rules)
    threshold = rules.crs_fever_min_c.value
    fevers = (True,) if masked else ((True, False) if temp is None else (temp >= threshold,))
    grades = {
        _crs_grade(*combo, died)[0]
        for combo in itertools.product(
            fevers,
            _options(hypo, (False, True)),
            _options(vaso, (0, 1, 2)),
            _options(vasopressin_, (False, True)),
            _options(oxy, tuple(OxygenSupport)),
        )
    }
    if len(grades) != 1:
        return None
    grade = grades.pop()
    unknown = [
        n
        for n, v in (
            ("temperature_c", temp),
            ("hypotension", hypo),
            ("vasopressors", vaso),
            ("vasopressin", vasopressin_),
            ("oxygen", oxy),
        )
        if v is None
    ]
    reason = f"ASTCT CRS grade {grade} from the recorded parameters"
    if unknown:
        reason += f" (the same whatever the unrecorded {', '.join(unknown)})"
    return ComputedGrade(
        term=AdverseEventTerm.CRS,
        grading_system=GradingSystem.ASTCT,
        grade=grade,
        reason=reason,
        source=SRC_ASTCT,
        unconfirmed_rules=(),
    )


def _icans_from_parameters(
    age_years: float | None,
    ice_score: int | None,
    capd_score: int | None,
    consciousness: object,
    seizure: object,
    motor: object,
    cerebral_edema: object,
    unable_to_assess: bool | None,
    rules: RuleSet,
) -> ComputedGrade | None:
    age = check_number("age_years", age_years, allow_none=True)
    ice = None if ice_score is None else check_int("ice_score", ice_score)
    capd_value = None if capd_score is None else check_int("capd_score", capd_score)
    level = None if consciousness is None else check_enum("consciousness", consciousness, Consciousness)
    seiz = None if seizure is None else check_enum("seizure", seizure, IcansSeizure)
    mot = None if motor is None else check_enum("motor", motor, IcansMotor)
    edema = None if cerebral_edema is None else check_enum("cerebral_edema", cerebral_edema, CerebralEdema)
    unable = None if unable_to_assess is None else check_bool("unable_to_assess", unable_to_assess)
    tools = (False, True) if age is None else (uses_capd(age, rules=rules),)
    lows, highs = [], []
    for capd in tools:
        domains = _icans_domains(capd, ice, capd_value, level, seiz, mot, edema, unable, rules)
        lows.append(max(low for _, low, _ in domains))
        highs.append(max(high for _, _, high in domains))
    if min(lows) != max(highs):
        return None
    grade = max(highs)
    names = ("capd_age_cutoff_years", "capd_age_cutoff_inclusive") if age is not None else ()
    return ComputedGrade(
        term=AdverseEventTerm.ICANS,
        grading_system=GradingSystem.ASTCT,
        grade=grade,
        reason=f"ASTCT ICANS grade {grade} from the recorded parameters",
        source=SRC_ASTCT,
        unconfirmed_rules=_unconfirmed(rules, names),
    )
