"""Response assessment: MRD status and hematologic response category.

Sources: clinical-rules.md §4 (Blincyto prescribing information definitions of CR and CRh; MRD
negative < 1e-4; complete MRD response at a sensitivity of at least 1e-4; MRD-positive indication
>= 0.1%). CRi, partial response and progression are not in the reference: they are rule data marked
UNCONFIRMED with the source they follow, and every result that used them lists them.

MRD values are fractions (1e-4 = 0.01% = 1 leukemic cell in 10,000), never percentages. Each
measurement keeps its method in the record model; these functions classify one measurement.
"""

from __future__ import annotations

from dataclasses import dataclass

from blinareg.rules.errors import RuleInputError, check_bool, check_number
from blinareg.rules.outcome import Explained, RuleResult
from blinareg.rules.ruleset import (
    DEFAULT_RULES,
    SRC_CRI,
    SRC_MRD,
    SRC_PR,
    SRC_PROGRESSION,
    SRC_RESPONSE,
    RuleSet,
)
from blinareg.rules.vocabulary import MrdStatus, ResponseCategory

__all__ = ["MrdResult", "ResponseResult", "mrd_status", "meets_mrd_positive_indication", "response_category"]


@dataclass(frozen=True, kw_only=True)
class MrdResult(Explained):
    """MRD status of one assessment against the threshold, and whether it is a complete MRD response."""

    status: MrdStatus
    value: float
    sensitivity: float | None
    threshold: float
    complete_mrd_response: bool  # not detected at a sensitivity of at least 1e-4


@dataclass(frozen=True, kw_only=True)
class ResponseResult(RuleResult):
    """Response category of one assessment."""

    category: ResponseCategory


def _response(
    category: ResponseCategory, reason: str, source: str, unconfirmed_rules: tuple[str, ...]
) -> ResponseResult:
    return ResponseResult(category=category, reason=reason, source=source, unconfirmed_rules=unconfirmed_rules)


def mrd_status(
    value: float,
    sensitivity: float | None = None,
    threshold: float | None = None,
    *,
    rules: RuleSet = DEFAULT_RULES,
) -> MrdResult:
    """MRD status of one measurement (clinical-rules.md §4).

    `value` is the measured fraction (0 = not detected); `sensitivity` the assay's limit (e.g. 1e-5);
    `threshold` defaults to `mrd_negative_threshold` (1e-4). Positive: value >= threshold (exactly 1e-4
    is positive). Negative: detected below the threshold, or not detected by an assay at least as
    sensitive as the threshold. Not detected with an unknown or coarser sensitivity: not evaluable.
    Complete MRD response: not detected at a sensitivity of at least `complete_mrd_min_sensitivity`.
    """
    from blinareg.rules.arrays import mrd_status_codes  # the one implementation

    measured = check_number("value", value)
    limit = check_number("sensitivity", sensitivity, allow_none=True)
    cut = rules.mrd_negative_threshold.value if threshold is None else check_number("threshold", threshold)
    code, complete = mrd_status_codes(
        float(measured), float("nan") if limit is None else float(limit), cut, rules.complete_mrd_min_sensitivity.value
    )
    shown = "unknown" if limit is None else f"{limit:g}"
    status, reason = (
        (MrdStatus.POSITIVE, f"MRD {measured:g} >= {cut:g}"),
        (MrdStatus.NEGATIVE, f"MRD {measured:g} detected below {cut:g}"),
        (MrdStatus.NEGATIVE, f"not detected at sensitivity {shown} (<= {cut:g})"),
        (MrdStatus.NOT_EVALUABLE, "not detected, assay sensitivity unknown"),
        (MrdStatus.NOT_EVALUABLE, f"not detected, but sensitivity {shown} is coarser than {cut:g}"),
    )[code]
    return MrdResult(
        status=status,
        value=measured,
        sensitivity=limit,
        threshold=cut,
        complete_mrd_response=complete,
        reason=reason,
        source=SRC_MRD,
    )


def meets_mrd_positive_indication(value: float, *, rules: RuleSet = DEFAULT_RULES) -> bool:
    """MRD >= 0.1% (1e-3, `mrd_positive_indication_threshold`): the label's MRD-positive indication level
    (clinical-rules.md §1, §4). Whether the patient is in CR1/CR2 is for the caller to check."""
    return check_number("value", value) >= rules.mrd_positive_indication_threshold.value


def _unconfirmed(rules: RuleSet, names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name for name in names if rules.rule(name).unconfirmed)


def response_category(
    blasts_pct: float,
    anc: float,
    platelets: float,
    extramedullary: bool,
    circulating_blasts: bool,
    *,
    baseline_blasts_pct: float | None = None,
    new_extramedullary: bool = False,
    rules: RuleSet = DEFAULT_RULES,
) -> ResponseResult:
    """Hematologic response category (CR / CRh / CRi / PR / no response / progression).

    `anc` and `platelets` are per microlitre (ANC 1,000/uL = 1.0 x 10^9/L). From clinical-rules.md §4:
    CR = marrow blasts <= 5%, no circulating blasts, no extramedullary disease, platelets > 100,000/uL
    and ANC > 1,000/uL; CRh = the same with platelets > 50,000/uL and ANC > 500/uL. UNCONFIRMED rule data
    (sources in the rule set): CRi = the blast criteria of CR with counts below CRh (or, when
    `cri_requires_one_recovered_count`, with platelets or ANC at the CR level); PR = CR counts, no
    circulating blasts or extramedullary disease, marrow blasts > 5% and <= 25% and a >= 50% reduction
    from `baseline_blasts_pct`; progression = marrow blasts >= 25% above baseline, or
    `new_extramedullary`. Without a baseline, PR and progression cannot be assessed (the reason says so).
    """
    blasts = check_number("blasts_pct", blasts_pct)
    neutrophils = check_number("anc", anc)
    plt = check_number("platelets", platelets)
    em = check_bool("extramedullary", extramedullary)
    circulating = check_bool("circulating_blasts", circulating_blasts)
    baseline = check_number("baseline_blasts_pct", baseline_blasts_pct, allow_none=True)
    new_em = check_bool("new_extramedullary", new_extramedullary)
    if new_em and not em:
        raise RuleInputError("new_extramedullary", new_em, "requires extramedullary=True")
    max_blasts = rules.response_max_marrow_blasts_pct.value
    cr_plt, cr_anc = rules.cr_platelets_above_per_ul.value, rules.cr_anc_above_per_ul.value
    crh_plt, crh_anc = rules.crh_platelets_above_per_ul.value, rules.crh_anc_above_per_ul.value
    counts = f"platelets {plt:g}/uL, ANC {neutrophils:g}/uL"
    cr_counts = plt > cr_plt and neutrophils > cr_anc

    if blasts <= max_blasts and not circulating and not em:
        if cr_counts:
            return _response(
                ResponseCategory.CR, f"blasts {blasts:g}% <= {max_blasts:g}%, {counts}: CR", SRC_RESPONSE, ()
            )
        if plt > crh_plt and neutrophils > crh_anc:
            return _response(
                ResponseCategory.CRH,
                f"blasts {blasts:g}% <= {max_blasts:g}%, {counts} (> {crh_plt:g} and > {crh_anc:g}): CRh",
                SRC_RESPONSE,
                (),
            )
        used = _unconfirmed(rules, ("cri_requires_one_recovered_count",))
        one_recovered = plt > cr_plt or neutrophils > cr_anc
        if not rules.cri_requires_one_recovered_count.value or one_recovered:
            return _response(
                ResponseCategory.CRI,
                f"blasts {blasts:g}% <= {max_blasts:g}% with incomplete count recovery ({counts}): CRi",
                SRC_CRI,
                used,
            )
        return _response(
            ResponseCategory.NO_RESPONSE,
            (
                f"blast-free marrow without platelet or ANC recovery "
                f"({counts}): not CR/CRh/CRi under the configured CRi definition"
            ),
            SRC_CRI,
            used,
        )

    used_progression = _unconfirmed(rules, ("progression_min_blast_increase",))
    if new_em:
        return _response(
            ResponseCategory.PROGRESSION, "new extramedullary disease: progression", SRC_PROGRESSION, used_progression
        )
    if baseline is None:
        return _response(
            ResponseCategory.NO_RESPONSE,
            (
                f"blasts {blasts:g}%, circulating blasts "
                f"{circulating}, extramedullary {em}: no CR/CRh/CRi; partial response and progression "
                "not assessable without baseline_blasts_pct"
            ),
            SRC_RESPONSE,
            (),
        )
    increase = rules.progression_min_blast_increase.value
    if blasts > baseline and blasts >= baseline * (1 + increase):
        return _response(
            ResponseCategory.PROGRESSION,
            f"blasts {blasts:g}% >= baseline {baseline:g}% + {increase:.0%}: progression",
            SRC_PROGRESSION,
            used_progression,
        )
    pr_max, reduction = rules.pr_max_marrow_blasts_pct.value, rules.pr_min_blast_reduction.value
    used_pr = _unconfirmed(
        rules, ("pr_max_marrow_blasts_pct", "pr_min_blast_reduction", "progression_min_blast_increase")
    )
    if (
        cr_counts
        and not circulating
        and not em
        and blasts <= pr_max
        and baseline > 0
        and blasts <= baseline * (1 - reduction)
    ):
        return _response(
            ResponseCategory.PR,
            (
                f"blasts {blasts:g}% (> {max_blasts:g}%, <= {pr_max:g}%, at least "
                f"{reduction:.0%} below baseline {baseline:g}%) with CR counts: PR"
            ),
            SRC_PR,
            used_pr,
        )
    return _response(
        ResponseCategory.NO_RESPONSE,
        f"blasts {blasts:g}% (baseline {baseline:g}%), {counts}: neither CR/CRh/CRi, PR nor progression",
        SRC_PR,
        used_pr,
    )
