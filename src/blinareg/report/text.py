"""The results paragraph, in the style of an abstract, written from the typed results only.

Every number in the paragraph is a value of the results (and so of results.json), formatted: counts as
they are, proportions and estimates as percentages with one decimal, months with one decimal, P values as
in the tables. `results_paragraph` returns the text and the keys (paths in results.json, e.g.
``response/overall/cr_achieved/x``) of every number it used. Sentences agree with their numbers
("1 patient was", "2 patients were").
"""

from __future__ import annotations

from blinareg.derive.labels import column_label
from blinareg.report.analyses import lower_first
from blinareg.report.results import (
    Cohort,
    EndpointSummary,
    Landmark,
    Meta,
    Outcomes,
    Proportion,
    ReportResults,
    Response,
    Safety,
)
from blinareg.report.tables import GE, fmt_ci, fmt_p, fmt_pct, label

__all__ = ["results_paragraph", "patients"]


def patients(n: int) -> str:
    """'1 patient', '3 patients'."""
    return f"{n} patient" if n == 1 else f"{n} patients"


def _was(n: int) -> str:
    return "was" if n == 1 else "were"


class _Writer:
    def __init__(self) -> None:
        self.sentences: list[str] = []
        self.used: list[str] = []

    def use(self, path: str, *names: str) -> None:
        """Record that the numbers `names` of the result at `path` appear in the text."""
        if names:
            self.used.extend(f"{path}/{name}" for name in names)
        else:
            self.used.append(path)

    def say(self, sentence: str) -> None:
        self.sentences.append(sentence[:1].upper() + sentence[1:])


def _prop(w: _Writer, prop: Proportion, path: str, what: str) -> str | None:
    if not prop.n:
        return None
    w.use(path, "x", "n", "proportion", "lower", "upper")
    return f"{prop.x} of {prop.n} ({fmt_pct(prop.proportion)}; 95% CI {fmt_ci(prop.lower, prop.upper)}) {what}"


def _landmark(w: _Writer, point: Landmark | None, path: str) -> str:
    if point is None:
        return "not estimable"
    if point.estimate is None:
        return point.note or "not estimable"
    w.use(path, "estimate")
    text = fmt_pct(point.estimate)
    if point.lower is not None and point.upper is not None:
        w.use(path, "lower", "upper")
        text += f" (95% CI {fmt_ci(point.lower, point.upper)})"
    elif point.note:
        text += f" ({point.note})"
    return text


def _last(summary: EndpointSummary) -> Landmark | None:
    return summary.landmarks[-1] if summary.landmarks else None


def results_paragraph(results: ReportResults) -> tuple[str, list[str]]:
    """The abstract-style paragraph and the results.json paths of every number in it."""
    w = _Writer()
    n = results.meta.n_patients
    if not n:
        return "The registry holds no patients; no results can be reported.", []
    w.use("meta/n_patients")
    landmarks = results.meta.landmarks_months
    last = len(landmarks) - 1
    horizon = landmarks[last]
    horizon_text = f"{horizon / 12:g}-year" if horizon % 12 == 0 else f"{horizon:g}-month"

    cohort = results.cohort.overall if results.cohort is not None else None
    if isinstance(cohort, Cohort):
        _cohort_sentences(w, cohort, n)
    else:
        w.say(f"{patients(n)} treated with blinatumomab {_was(n)} included.")

    response = results.response.overall if results.response is not None else None
    if isinstance(response, Response):
        _response_sentences(w, response, results.meta.non_responder_definition)

    safety = results.safety.overall if results.safety is not None else None
    if isinstance(safety, Safety):
        _safety_sentences(w, safety)

    if results.outcomes is not None:
        _outcome_sentences(w, results.outcomes, last, horizon_text)
    return " ".join(w.sentences), w.used


def _cohort_sentences(w: _Writer, cohort: Cohort, n: int) -> None:
    age = cohort.age_at_first_blinatumomab_years
    sentence = f"Among {patients(n)}"
    if age.n:
        w.use("cohort/overall/age_at_first_blinatumomab_years", "median", "min", "max")
        sentence += (
            f" (median age at first blinatumomab {age.median:.1f} years, range {age.min:.1f}\u2013{age.max:.1f})"
        )
    parts = []
    for i, entry in enumerate(cohort.indication_group.levels):
        if entry.n:
            w.use(f"cohort/overall/indication_group/levels/{i}/n")
            parts.append(
                f"{label(entry.level).lower() if entry.level != 'mrd_clearance' else 'MRD clearance'} ({entry.n})"
            )
    if parts:
        sentence += ", blinatumomab was given for " + ", ".join(parts)
    w.say(sentence + ".")
    block = cohort.relapse_site_detail
    sites = []
    for i, entry in enumerate(block.levels):
        if entry.n:
            w.use(f"cohort/overall/relapse_site_detail/levels/{i}", "n", "percent")
            sites.append(
                f"{label(entry.level).lower().replace('bm', 'BM').replace('cns', 'CNS').replace(' em', ' EM')}"
                f" in {entry.n}/{block.denominator} ({entry.percent:.1f}%)"
            )
    if sites:
        w.use("cohort/overall/relapse_site_detail/denominator")
        w.say("The index relapse was " + ", ".join(sites) + ".")


def _response_sentences(w: _Writer, response: Response, non_responder_definition: str) -> None:
    parts = []
    cr = _prop(w, response.cr_achieved, "response/overall/cr_achieved", "achieved CR/CRh/CRi")
    if cr:
        parts.append(cr)
    non = response.non_responders
    if non.denominator:
        w.use("response/overall/non_responders/n")
        parts.append(f"{non.n} {_was(non.n)} non-responders" if non.n != 1 else "1 was a non-responder")
    if parts:
        w.say("; ".join(parts) + f". {non_responder_definition}")
    flow = _prop(
        w,
        response.mrd_negative["after_cycle1"].flow,
        "response/overall/mrd_negative/after_cycle1/flow",
        "were MRD negative by flow cytometry",
    )
    pcr = _prop(
        w, response.mrd_negative["after_cycle1"].pcr, "response/overall/mrd_negative/after_cycle1/pcr", "by PCR"
    )
    if flow or pcr:
        w.say("After cycle 1, " + "; ".join(x for x in (flow, pcr) if x) + ".")
    disc = response.discordance["best"]
    if disc.n_both_methods:
        w.use("response/overall/discordance/best", "flow_negative_pcr_positive", "n_both_methods")
        k = disc.flow_negative_pcr_positive
        w.say(
            f"Of {patients(disc.n_both_methods)} assessed by both methods, {k} {_was(k)} flow-negative but "
            "PCR-positive."
        )


def _safety_sentences(w: _Writer, safety: Safety) -> None:
    crs = _prop(w, safety.crs_max_grade.any_grade, "safety/overall/crs_max_grade/any_grade", "had CRS")
    if not crs:
        return
    text = crs
    crs3 = safety.crs_max_grade.grade3plus
    if crs3.n:
        w.use("safety/overall/crs_max_grade/grade3plus/x")
        text += f" ({crs3.x} grade {GE} 3)"
    neuro = safety.per_cycle
    if neuro.cycles:
        w.use("safety/overall/per_cycle", "neurotoxicity_events", "cycles")
        events = neuro.neurotoxicity_events or 0
        text += (
            f"; {events} neurotoxicity {'event' if events == 1 else 'events'} occurred over "
            f"{neuro.cycles} {'cycle' if neuro.cycles == 1 else 'cycles'}"
        )
    w.say(text + ".")


def _outcome_sentences(w: _Writer, outcomes: Outcomes, last: int, horizon_text: str) -> None:
    pieces = []
    for endpoint in ("OS", "EFS", "DFS"):
        summary = outcomes.overall.get(endpoint)
        if summary is not None and summary.n:
            text = _landmark(w, _last(summary), f"outcomes/overall/{endpoint}/landmarks/{last}")
            pieces.append(f"{endpoint} was {text}")
    for endpoint in ("CIR", "NRM"):
        summary = outcomes.overall.get(endpoint)
        if summary is not None and summary.n:
            text = _landmark(w, _last(summary), f"outcomes/overall/{endpoint}/landmarks/{last}")
            what = "relapse" if endpoint == "CIR" else "non-relapse mortality"
            pieces.append(f"the cumulative incidence of {what} was {text}")
    fu = outcomes.median_follow_up
    if pieces:
        lead = f"The {horizon_text} "
        if fu.months is not None:
            w.use("outcomes/median_follow_up/months")
            lead = f"With a median follow-up of {fu.months:.1f} months, the {horizon_text} "
        w.say(lead + "; ".join(pieces) + ".")
    os_ = outcomes.overall.get("OS")
    if os_ is not None and os_.median is not None and os_.median.months is not None:
        w.use("outcomes/overall/OS/median/months")
        w.say(f"Median OS was {os_.median.months:.1f} months.")
    for key, comp in outcomes.comparisons.items():
        for endpoint, block in comp.endpoints.items():
            if block.test.p_value is None:
                continue
            values = []
            for group, summary in block.groups.items():
                if not summary.n:
                    continue
                path = f"outcomes/comparisons/{key}/endpoints/{endpoint}/groups/{group}/landmarks/{last}"
                values.append(f"{_landmark(w, _last(summary), path)} in {group}")
            w.use(f"outcomes/comparisons/{key}/endpoints/{endpoint}/test/p_value")
            timing = " (timed from HSCT)" if comp.timing else ""
            w.say(
                f"{comp.name}{timing}: {horizon_text} {endpoint} "
                + " vs ".join(values)
                + f" ({fmt_p(block.test.p_value)}, {block.test.test})."
            )
    pros = outcomes.overall.get("PROS")
    if pros is not None and pros.n:
        w.use("outcomes/overall/PROS/n")
        text = _landmark(w, _last(pros), f"outcomes/overall/PROS/landmarks/{last}")
        w.say(f"Among {patients(pros.n)} who relapsed, the {horizon_text} post-relapse OS was {text}.")


ORIGIN_WORDS = {
    "first_blinatumomab": "the first blinatumomab infusion",
    "hsct": "haematopoietic stem-cell transplantation (HSCT)",
    "diagnosis": "diagnosis",
    "relapse": "the index relapse",
}


def _data_source_sentences(meta: Meta) -> str:
    """Which analysis freeze the numbers come from, and the data queries acknowledged and not corrected."""
    text = ""
    if meta.freeze is not None:
        freeze = meta.freeze
        text += (
            f" The analysis used analysis freeze {freeze.freeze_id} ('{freeze.name}', made {freeze.created_at[:10]} "
            f"by {freeze.created_by}; SHA-256 {freeze.content_sha256}), which holds the exact records analysed."
        )
    if meta.data_queries is not None:
        queries = meta.data_queries
        warnings = queries.acknowledged_warnings
        text += (
            f" Data quality: {warnings} validation warning{'' if warnings == 1 else 's'} "
            f"{'was' if warnings == 1 else 'were'} acknowledged by the data manager and not corrected; "
            f"{queries.open} data quer{'y was' if queries.open == 1 else 'ies were'} open"
            + (" when the freeze was made." if meta.freeze is not None else ".")
        )
    return text


def methods_paragraphs(results: ReportResults) -> list[str]:
    """The statistical methods in words, for a manuscript (no column or code names)."""
    meta = results.meta
    level = f"{100 * meta.conf_level:g}%"
    origin = ORIGIN_WORDS.get(meta.origin, meta.origin.replace("_", " "))
    accrual = ""
    if meta.accrual_first and meta.accrual_last:
        accrual = (
            f" Patients received their first blinatumomab infusion between {meta.accrual_first} and "
            f"{meta.accrual_last}."
        )
    cutoff = meta.data_cutoff or meta.as_of
    first = f"The registry cohort comprised {patients(meta.n_patients)}.{accrual}" + (
        f" Data were analysed as of {cutoff}." if cutoff else ""
    )
    first += _data_source_sentences(meta)
    second = (
        f"Time was measured from {origin} and is reported in months (days divided by 30.4375). "
        "Survival was estimated by the Kaplan-Meier method with pointwise confidence intervals on the "
        "log(-log) scale, and median follow-up by the reverse Kaplan-Meier method. The cumulative incidence "
        "of relapse and of non-relapse mortality was estimated by the Aalen-Johansen method, each with the "
        "other as competing event. Survival curves were compared by the log-rank test and cumulative "
        f"incidences by Gray's test. Proportions are given with exact (Clopper-Pearson) {level} confidence "
        "intervals and with their denominators: the patients in whom the item was recorded."
    )
    third = (
        f"{meta.non_responder_definition} Measurable residual disease (MRD) was called negative below "
        "0.01% (1e-4); flow cytometry and PCR results were analysed separately and never merged, and a "
        "complete MRD response required a negative result by every method measured at that assessment. "
        f"High tumour load was defined as a baseline MRD of {GE} "
        f"{100 * meta.high_tumour_load_mrd_fraction:g}%."
    )
    fourth = (
        "Comparisons by transplant characteristics (remission status at HSCT, inotuzumab before HSCT) were "
        "timed from the transplant. A subgroup comparison was run only when the grouping characteristic was "
        f"recorded in at least {100 * (meta.min_recorded_fraction or 0):g}% of the patients concerned. "
        "Hazard ratios come from Cox proportional-hazards models (Efron ties) and subdistribution hazard "
        "ratios from Fine-Gray models; patients with a missing covariate were excluded from that model, "
        "and the number excluded is given with each model."
    ) + _model_method_sentences(results)
    return [first, second, third, fourth]


def _model_method_sentences(results: ReportResults) -> str:
    """Strata and the proportional-hazards test in words, only when a model uses them."""
    models = list((results.models or {}).values())
    text = ""
    strata = sorted({column for m in models for column in (m.strata or ())})
    if strata:
        names = " and ".join(lower_first(column_label(c)) for c in strata)
        text += (
            f" Cox models stratified by {names} allowed a separate baseline hazard in each stratum and "
            "estimated no hazard ratio for it."
        )
    if results.subgroups:
        text += (
            " Subgroup hazard ratios were estimated by Cox models within each subgroup, and heterogeneity "
            "across subgroups by the likelihood-ratio test of the comparison-by-subgroup interaction."
        )
    if any(m.ph_test is not None for m in models):
        text += (
            " The proportional-hazards assumption was checked by the Grambsch-Therneau test of the scaled "
            "Schoenfeld residuals against Kaplan-Meier-transformed time, for each covariate (all levels of a "
            "categorical covariate jointly) and for the model as a whole."
        )
    return text
