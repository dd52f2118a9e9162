"""The results paragraph, in the style of an abstract, written from the results dict only.

Every number in the paragraph is a value of results.json, formatted: counts as they are, proportions
and estimates as percentages with one decimal, months with one decimal, P values as in the tables.
`results_paragraph` returns the text and the keys (paths in results.json) of every number it used.
"""

from __future__ import annotations

from typing import Any

from blinareg.report.tables import fmt_ci, fmt_p, fmt_pct, label

__all__ = ["results_paragraph"]


def _get(results: dict[str, Any], path: str) -> Any:
    node: Any = results
    for part in path.split("/"):
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


class _Writer:
    def __init__(self, results: dict[str, Any]) -> None:
        self.results = results
        self.sentences: list[str] = []
        self.used: list[str] = []

    def get(self, path: str) -> Any:
        value = _get(self.results, path)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self.used.append(path)
        return value

    def say(self, sentence: str) -> None:
        self.sentences.append(sentence)


def _prop(w: _Writer, path: str, what: str) -> str | None:
    block = _get(w.results, path)
    if not block or not block.get("n"):
        return None
    w.get(f"{path}/x"), w.get(f"{path}/n"), w.get(f"{path}/proportion"), w.get(f"{path}/lower"), w.get(f"{path}/upper")
    return (f"{block['x']} of {block['n']} ({fmt_pct(block['proportion'])}; 95% CI "
            f"{fmt_ci(block['lower'], block['upper'])}) {what}")


def _landmark(w: _Writer, path: str) -> str | None:
    point = _get(w.results, path)
    if not point:
        return None
    if point.get("estimate") is None:
        return point.get("note") or "not estimable"
    w.get(f"{path}/estimate")
    text = fmt_pct(point["estimate"])
    if point.get("lower") is not None and point.get("upper") is not None:
        w.get(f"{path}/lower"), w.get(f"{path}/upper")
        text += f" (95% CI {fmt_ci(point['lower'], point['upper'])})"
    elif point.get("note"):
        text += f" ({point['note']})"
    return text


def _landmark_index(results: dict[str, Any], months: float) -> int | None:
    values = results["meta"]["landmarks_months"]
    return values.index(months) if months in values else None


def results_paragraph(results: dict[str, Any]) -> tuple[str, list[str]]:
    """The abstract-style paragraph and the results.json paths of every number in it."""
    w = _Writer(results)
    n = w.get("meta/n_patients")
    if not n:
        return "The registry holds no patients; no results can be reported.", []
    landmarks = results["meta"]["landmarks_months"]
    last = len(landmarks) - 1
    horizon = landmarks[last]
    horizon_text = f"{horizon / 12:g}-year" if horizon % 12 == 0 else f"{horizon:g}-month"

    cohort = _get(results, "cohort/overall")
    if cohort and cohort.get("n"):
        age = cohort["age_at_first_blinatumomab_years"]
        sentence = f"Among {n} patients"
        if age.get("n"):
            w.get("cohort/overall/age_at_first_blinatumomab_years/median")
            w.get("cohort/overall/age_at_first_blinatumomab_years/min")
            w.get("cohort/overall/age_at_first_blinatumomab_years/max")
            sentence += (f" (median age at first blinatumomab {age['median']:.1f} years, range "
                         f"{age['min']:.1f}\u2013{age['max']:.1f})")
        groups = [e for e in cohort["indication_group"]["levels"] if e["n"]]
        if groups:
            parts = []
            for entry in groups:
                i = cohort["indication_group"]["levels"].index(entry)
                w.get(f"cohort/overall/indication_group/levels/{i}/n")
                parts.append(f"{label(entry['level'])} ({entry['n']})")
            sentence += ", blinatumomab was given for " + ", ".join(parts)
        w.say(sentence + ".")
        sites = [e for e in cohort["relapse_site_detail"]["levels"] if e["n"]]
        if sites:
            parts = []
            for entry in sites:
                i = cohort["relapse_site_detail"]["levels"].index(entry)
                w.get(f"cohort/overall/relapse_site_detail/levels/{i}/n")
                w.get(f"cohort/overall/relapse_site_detail/levels/{i}/percent")
                parts.append(f"{label(entry['level'])} in {entry['n']} ({entry['percent']:.1f}%)")
            w.say("The index relapse was " + ", ".join(parts) + ".")
    else:
        w.say(f"Among {n} patients treated with blinatumomab.")

    response = _get(results, "response/overall")
    if response and response.get("n"):
        parts = []
        cr = _prop(w, "response/overall/cr_achieved", "achieved CR/CRh/CRi")
        if cr:
            parts.append(cr)
        non = response["non_responders"]
        if non["denominator"]:
            w.get("response/overall/non_responders/n")
            parts.append(f"{non['n']} were non-responders")
        if parts:
            w.say("; ".join(parts) + f". {results['meta']['non_responder_definition']}")
        flow = _prop(w, "response/overall/mrd_negative/after_cycle1/flow", "were MRD negative by flow cytometry")
        pcr = _prop(w, "response/overall/mrd_negative/after_cycle1/pcr", "by PCR")
        if flow or pcr:
            w.say("After cycle 1, " + "; ".join(x for x in (flow, pcr) if x) + ".")
        disc = response["discordance"]["best"]
        if disc["n_both_methods"]:
            w.get("response/overall/discordance/best/flow_negative_pcr_positive")
            w.get("response/overall/discordance/best/n_both_methods")
            w.say(f"Of {disc['n_both_methods']} patients assessed by both methods, "
                  f"{disc['flow_negative_pcr_positive']} were flow-negative but PCR-positive.")

    safety = _get(results, "safety/overall")
    if safety and safety.get("n"):
        crs = _prop(w, "safety/overall/crs_max_grade/any_grade", "had CRS")
        crs3 = safety["crs_max_grade"]["grade3plus"]
        neuro = safety["per_cycle"]
        if crs:
            text = crs
            if crs3.get("n"):
                w.get("safety/overall/crs_max_grade/grade3plus/x")
                text += f" ({crs3['x']} grade >= 3)"
            if neuro.get("cycles"):
                w.get("safety/overall/per_cycle/neurotoxicity_events")
                w.get("safety/overall/per_cycle/cycles")
                text += (f"; {neuro['neurotoxicity_events']} neurotoxicity events occurred over "
                         f"{neuro['cycles']} cycles")
            w.say(text[0].upper() + text[1:] + ".")

    outcomes = _get(results, "outcomes")
    if outcomes:
        fu = outcomes.get("median_follow_up", {})
        pieces = []
        for endpoint in ("OS", "EFS", "DFS"):
            summary = outcomes["overall"].get(endpoint)
            if summary and summary.get("n"):
                text = _landmark(w, f"outcomes/overall/{endpoint}/landmarks/{last}")
                pieces.append(f"{endpoint} was {text}")
        for endpoint in ("CIR", "NRM"):
            summary = outcomes["overall"].get(endpoint)
            if summary and summary.get("n"):
                text = _landmark(w, f"outcomes/overall/{endpoint}/landmarks/{last}")
                pieces.append(f"the cumulative incidence of {'relapse' if endpoint == 'CIR' else 'non-relapse mortality'}"
                              f" was {text}")
        if pieces:
            lead = f"The {horizon_text} "
            if fu.get("months") is not None:
                w.get("outcomes/median_follow_up/months")
                lead = f"With a median follow-up of {fu['months']:.1f} months, the {horizon_text} "
            w.say(lead + "; ".join(pieces) + ".")
        median = _get(results, "outcomes/overall/OS/median")
        if median and median.get("months") is not None:
            w.get("outcomes/overall/OS/median/months")
            w.say(f"Median OS was {median['months']:.1f} months.")
        for key, comp in outcomes.get("comparisons", {}).items():
            for endpoint, block in comp.get("endpoints", {}).items():
                test = block["test"]
                if test.get("p_value") is None:
                    continue
                values = []
                for group, summary in block["groups"].items():
                    if not summary.get("n"):
                        continue
                    text = _landmark(w, f"outcomes/comparisons/{key}/endpoints/{endpoint}/groups/{group}/landmarks/{last}")
                    values.append(f"{text} in {group}")
                w.get(f"outcomes/comparisons/{key}/endpoints/{endpoint}/test/p_value")
                w.say(f"{comp['name']}: {horizon_text} {endpoint} " + " vs ".join(values)
                      + f" ({fmt_p(test['p_value'])}, {test['test']}).")
        pros = outcomes["overall"].get("PROS")
        if pros and pros.get("n"):
            w.get("outcomes/overall/PROS/n")
            text = _landmark(w, f"outcomes/overall/PROS/landmarks/{last}")
            w.say(f"Among {pros['n']} patients who relapsed, the {horizon_text} post-relapse OS was {text}.")
    return " ".join(w.sentences), w.used
