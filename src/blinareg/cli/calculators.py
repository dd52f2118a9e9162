"""CLI calculators over `blinareg.rules`: `blinareg dose`, `blinareg grade ...`, `blinareg classify ...`.

Thin wrappers: parse options, call one rule function, print its result. A center's rule overrides come
from ``--rules FILE.toml`` (read here; the rules themselves do no I/O): the file's ``[rules]`` table
if it has one (the other tables of a center configuration are left to their own readers), otherwise
the whole file. A bad value raises a one-line error naming the option (exit code 2), never a traceback.
Every output that used an UNCONFIRMED rule says so and names the rule and its source.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from blinareg.errors import UserError
from blinareg.rules import (
    DEFAULT_RULES,
    CyclePlan,
    RuleConfigError,
    RuleInputError,
    RuleSet,
    classify_relapse,
    dose_plan,
    grade_crs,
    grade_ctcae,
    grade_icans,
    marrow_status,
    max_cycles,
    mrd_status,
    nasal_cannula_support,
    relapse_timing,
    response_category,
    treatment_plan,
)
from blinareg.rules.grading import SRC_CTCAE
from blinareg.rules.ruleset import SRC_MARROW
from blinareg.rules.vocabulary import (
    AdverseEventTerm,
    CerebralEdema,
    Consciousness,
    CtcaeSeizure,
    CtcaeSeverity,
    DosingIndication,
    IcansMotor,
    IcansSeizure,
    OxygenSupport,
    RelapseTimingScheme,
)

__all__ = ["dose_command", "grade_group", "classify_group", "load_rules_file", "CalculatorInputError"]

_INDICATIONS = {
    "rr": DosingIndication.RELAPSED_REFRACTORY,
    "relapsed_refractory": DosingIndication.RELAPSED_REFRACTORY,
    "mrd": DosingIndication.MRD_POSITIVE,
    "mrd_positive": DosingIndication.MRD_POSITIVE,
    "consolidation": DosingIndication.CONSOLIDATION,
}
_INDICATION_TITLE = {
    DosingIndication.RELAPSED_REFRACTORY: "relapsed/refractory",
    DosingIndication.MRD_POSITIVE: "MRD-positive",
    DosingIndication.CONSOLIDATION: "Ph-negative consolidation",
}
_DATE = click.DateTime(formats=["%Y-%m-%d"])


class CalculatorInputError(click.ClickException):
    """A bad value for a calculator: printed as one ``Error: ...`` line, exit code 2 (as click usage errors)."""

    exit_code = 2


def load_rules_file(path: Path | str) -> RuleSet:
    """The rule set of a center's TOML file (see the module docstring); UserError naming the file and key."""
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{path}: not valid TOML: {error}") from None
    except OSError as error:
        raise UserError(f"{path}: cannot read: {error.strerror}") from None
    table = document.get("rules", document) if isinstance(document.get("rules"), dict) else document
    try:
        return RuleSet.from_mapping(table)
    except RuleConfigError as error:
        raise UserError(f"{path}: rule {error}") from None


def _rules_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> RuleSet:
    if value is None:
        return DEFAULT_RULES
    try:
        return load_rules_file(value)
    except UserError as error:
        raise CalculatorInputError(f"Invalid value for '--rules': {error}") from None


def _rules_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--rules",
        "rules",
        type=click.Path(exists=True, dir_okay=False),
        callback=_rules_callback,
        help="A center's rule overrides (TOML); defaults to the reference rules.",
    )(command)


def _user_errors(options: dict[str, str]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Turn a RuleInputError into a one-line error naming the option (rule argument -> option)."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return command(*args, **kwargs)
            except RuleInputError as error:
                option = options.get(error.argument.split("[")[0].split(".")[0])
                prefix = f"Invalid value for '{option}': " if option else ""
                raise CalculatorInputError(prefix + str(error)) from None

        return wrapper

    return decorate


def _as_date(value: datetime | None) -> date | None:
    return None if value is None else value.date()


def _echo_footer(rules: RuleSet, used: Iterable[str], source: str | None = None) -> None:
    if source:
        click.echo(f"Source: {source}")
    notes = rules.notes(tuple(used))
    if notes:
        click.echo("Note: this result uses UNCONFIRMED rules:")
        for note in notes:
            click.echo(f"  - {note}")


# --- dose -------------------------------------------------------------------------------------------


def _fmt_dose(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _echo_cycle(plan: CyclePlan) -> None:
    click.echo(
        f"Cycle {plan.cycle} ({plan.phase.value}), {plan.length_days} days: "
        f"{len(plan.infusion_days)} infusion days, {len(plan.treatment_free_days)} treatment-free"
    )
    click.echo(
        f"{'day':>4}  {'date':<10}  {'mcg/day':>8}  {'mcg/m2/day':>10}  {'infusion':<8}  {'hosp':<4}  premedication"
    )
    free_run: list = []

    def flush() -> None:
        if not free_run:
            return
        first, last = free_run[0], free_run[-1]
        days = f"{first.day}-{last.day}" if len(free_run) > 1 else f"{first.day}"
        dates = ""
        if first.date is not None:
            dates = first.date.isoformat() + (f" to {last.date.isoformat()}" if len(free_run) > 1 else "")
        click.echo(f"{days:>4}  {dates:<10}  treatment-free ({len(free_run)} days)")
        free_run.clear()

    for day in plan.days:
        if not day.infusing and not day.interrupted and not day.hospitalized and not day.premedication:
            free_run.append(day)
            continue
        flush()
        when = day.date.isoformat() if day.date else ""
        status = "infusing" if day.infusing else ("interrupted" if day.interrupted else "free")
        click.echo(
            f"{day.day:>4}  {when:<10}  {_fmt_dose(day.dose_mcg_per_day if day.infusing else None):>8}  "
            f"{(f'{day.dose_per_m2:g}' if day.dose_per_m2 is not None else '-'):>10}  {status:<8}  "
            f"{'yes' if day.hospitalized else 'no':<4}  {day.premedication or ''}"
        )
    flush()


@click.command("dose")
@click.option("--weight", type=float, required=True, help="Body weight, kg.")
@click.option("--height", type=float, default=None, help="Height, cm (needed under 45 kg).")
@click.option("--bsa", type=float, default=None, help="Body surface area, m2 (instead of Mosteller from height).")
@click.option(
    "--indication",
    type=click.Choice(sorted(_INDICATIONS)),
    required=True,
    help="rr = relapsed/refractory, mrd = MRD-positive, consolidation = Ph-negative consolidation.",
)
@click.option("--cycle", type=int, default=None, help="Cycle number; without it, every cycle of the indication.")
@click.option(
    "--phase",
    type=click.Choice(["induction", "consolidation", "continued"]),
    default=None,
    help="Optional check that the cycle is in this phase.",
)
@click.option("--start", type=_DATE, default=None, help="Date of cycle day 1 (YYYY-MM-DD).")
@click.option("--age", type=float, default=None, help="Age, years (selects adult or pediatric premedication).")
@_rules_option
@_user_errors(
    {
        "weight_kg": "--weight",
        "height_cm": "--height",
        "bsa_m2": "--bsa",
        "cycle": "--cycle",
        "cycles": "--cycle",
        "phase": "--phase",
        "age_years": "--age",
        "start_date": "--start",
    }
)
def dose_command(
    weight: float,
    height: float | None,
    bsa: float | None,
    indication: str,
    cycle: int | None,
    phase: str | None,
    start: datetime | None,
    age: float | None,
    rules: RuleSet,
) -> None:
    """Print the day-by-day blinatumomab calendar of one cycle (or of all cycles)."""
    ind = _INDICATIONS[indication]
    start_date = _as_date(start)
    if cycle is None:
        if phase is not None:
            raise click.UsageError("--phase needs --cycle")
        if start_date is not None:
            plans = treatment_plan(ind, weight, height, start_date, age_years=age, bsa_m2=bsa, rules=rules).cycles
        else:
            plans = tuple(
                dose_plan(ind, weight, height, number, age_years=age, bsa_m2=bsa, rules=rules)
                for number in range(1, max_cycles(ind, rules=rules) + 1)
            )
    else:
        plans = (
            dose_plan(ind, weight, height, cycle, phase, start_date=start_date, age_years=age, bsa_m2=bsa, rules=rules),
        )
    first = plans[0]
    click.echo(f"Blinatumomab dose plan: {_INDICATION_TITLE[ind]}")
    body = f"Weight {weight:g} kg" + (f", height {height:g} cm" if height is not None else "")
    body += f", BSA {first.bsa_m2:.3f} m2" if first.bsa_m2 is not None else ""
    click.echo(body + (f", age {age:g} years" if age is not None else ""))
    for note in first.notes:
        click.echo(f"  {note}")
    if first.unit.value == "mcg/m2/day":
        step = next((d.dose_per_m2 for p in plans for d in p.days if d.level.value == "step"), None)
        full = next((d.dose_per_m2 for p in plans for d in p.days if d.level.value == "full"), None)
        levels = []
        if step is not None:
            levels.append(f"step {step:g} mcg/m2/day = {first.step_dose_mcg_per_day:.2f} mcg/day")
        if full is not None:
            levels.append(f"full {full:g} mcg/m2/day = {first.full_dose_mcg_per_day:.2f} mcg/day")
        click.echo("  Doses: " + "; ".join(levels))
    for plan in plans:
        click.echo("")
        _echo_cycle(plan)
    click.echo("")
    _echo_footer(
        rules,
        [name for plan in plans for name in plan.unconfirmed_rules],
        "Blincyto (blinatumomab) prescribing information (docs/clinical-rules.md §1)",
    )


# --- grade ------------------------------------------------------------------------------------------


@click.group("grade")
def grade_group() -> None:
    """Grade CRS and ICANS (ASTCT 2019) or encephalopathy, seizure and tremor (CTCAE v5)."""


@grade_group.command("crs")
@click.option("--temperature", type=float, default=None, help="Highest temperature, C.")
@click.option(
    "--vasopressors", type=int, default=0, show_default=True, help="Number of vasopressors other than vasopressin."
)
@click.option("--vasopressin", is_flag=True, help="Vasopressin given.")
@click.option("--hypotension", is_flag=True, help="Hypotension (not needing vasopressors).")
@click.option(
    "--oxygen",
    type=click.Choice([o.value for o in OxygenSupport]),
    default=None,
    help="Oxygen support; default none, or nasal cannula by --flow.",
)
@click.option("--flow", type=float, default=None, help="Oxygen flow, L/min (nasal cannula when --oxygen is not given).")
@click.option("--fever-masked", is_flag=True, help="Fever masked by antipyretics, tocilizumab or steroids.")
@click.option("--fatal", is_flag=True, help="Death from CRS.")
@_rules_option
@_user_errors(
    {
        "temperature_c": "--temperature",
        "vasopressors": "--vasopressors",
        "oxygen_flow_l_min": "--flow",
        "oxygen": "--oxygen",
    }
)
def grade_crs_command(
    temperature: float | None,
    vasopressors: int,
    vasopressin: bool,
    hypotension: bool,
    oxygen: str | None,
    flow: float | None,
    fever_masked: bool,
    fatal: bool,
    rules: RuleSet,
) -> None:
    """ASTCT CRS grade."""
    if temperature is None and not fever_masked:
        raise click.UsageError("give --temperature (or --fever-masked)")
    support = (
        OxygenSupport(oxygen)
        if oxygen
        else (nasal_cannula_support(flow, rules=rules) if flow is not None else OxygenSupport.NONE)
    )
    result = grade_crs(
        temperature,
        vasopressors,
        vasopressin,
        support,
        oxygen_flow_l_min=flow,
        hypotension=hypotension,
        fever_masked=fever_masked,
        fatal=fatal,
        rules=rules,
    )
    title = "no CRS (criteria not met)" if result.grade == 0 else f"grade {result.grade}"
    click.echo(f"CRS (ASTCT): {title}")
    click.echo(f"  {result.reason}")
    _echo_footer(rules, result.unconfirmed_rules, result.source)


@grade_group.command("icans")
@click.option("--age", type=float, required=True, help="Age, years (CAPD under 12).")
@click.option("--ice", type=int, default=None, help="ICE score 0-10.")
@click.option("--capd", type=int, default=None, help="CAPD score 0-32 (young children).")
@click.option(
    "--consciousness", type=click.Choice([c.value for c in Consciousness]), default="normal", show_default=True
)
@click.option("--seizure", type=click.Choice([s.value for s in IcansSeizure]), default="none", show_default=True)
@click.option("--motor", type=click.Choice([m.value for m in IcansMotor]), default="none", show_default=True)
@click.option(
    "--edema",
    type=click.Choice([e.value for e in CerebralEdema]),
    default="none",
    show_default=True,
    help="Raised intracranial pressure / cerebral edema.",
)
@click.option("--unable-to-assess", is_flag=True, help="Unarousable, unable to perform ICE/CAPD.")
@_rules_option
@_user_errors({"age_years": "--age", "ice_score": "--ice", "capd_score": "--capd"})
def grade_icans_command(
    age: float,
    ice: int | None,
    capd: int | None,
    consciousness: str,
    seizure: str,
    motor: str,
    edema: str,
    unable_to_assess: bool,
    rules: RuleSet,
) -> None:
    """ASTCT ICANS grade (ICE score, or CAPD for young children)."""
    result = grade_icans(
        age, ice, capd, consciousness, seizure, motor, edema, unable_to_assess=unable_to_assess, rules=rules
    )
    click.echo(f"ICANS (ASTCT, {result.tool}): " + (f"grade {result.grade}" if result.grade else "no ICANS (grade 0)"))
    click.echo(f"  {result.reason}")
    _echo_footer(rules, result.unconfirmed_rules, result.source)


_CTCAE_FINDINGS = sorted({v.value for v in CtcaeSeverity} | {v.value for v in CtcaeSeizure})


@grade_group.command("ctcae")
@click.argument(
    "term",
    type=click.Choice(
        [AdverseEventTerm.ENCEPHALOPATHY.value, AdverseEventTerm.SEIZURE.value, AdverseEventTerm.TREMOR.value]
    ),
)
@click.argument("finding", type=click.Choice(_CTCAE_FINDINGS))
@_rules_option
@_user_errors({"finding": "FINDING", "term": "TERM"})
def grade_ctcae_command(term: str, finding: str, rules: RuleSet) -> None:
    """CTCAE v5 grade of TERM from its FINDING (e.g. `encephalopathy moderate`, `seizure brief_generalized`)."""
    result = grade_ctcae(term, finding, rules=rules)
    click.echo(f"{result.term.value} (CTCAE v5): grade {result.grade}")
    click.echo(f"  {result.criterion}")
    _echo_footer(rules, (), SRC_CTCAE)


# --- classify ---------------------------------------------------------------------------------------


@click.group("classify")
def classify_group() -> None:
    """Classify relapses, marrow status, MRD and response."""


@classify_group.command("relapse")
@click.option("--diagnosis", type=_DATE, required=True, help="Initial diagnosis date (YYYY-MM-DD).")
@click.option("--relapse", "relapse_on", type=_DATE, required=True, help="Relapse date.")
@click.option("--end-of-therapy", type=_DATE, default=None, help="End of front-line therapy.")
@click.option("--scheme", type=click.Choice([s.value for s in RelapseTimingScheme]), default="bfm", show_default=True)
@click.option("--marrow-blasts", type=float, default=None, help="Marrow blasts, % (for the site).")
@click.option("--cns", is_flag=True, help="CNS involvement.")
@click.option("--testis", is_flag=True, help="Testicular involvement.")
@click.option("--other-em", is_flag=True, help="Other extramedullary involvement.")
@click.option("--lineage", type=click.Choice(["b", "t"]), default=None, help="Immunophenotype (for the groups).")
@_rules_option
@_user_errors(
    {
        "diagnosis_date": "--diagnosis",
        "relapse_date": "--relapse",
        "end_of_frontline_date": "--end-of-therapy",
        "marrow_blasts_pct": "--marrow-blasts",
        "blasts_pct": "--marrow-blasts",
    }
)
def classify_relapse_command(
    diagnosis: datetime,
    relapse_on: datetime,
    end_of_therapy: datetime | None,
    scheme: str,
    marrow_blasts: float | None,
    cns: bool,
    testis: bool,
    other_em: bool,
    lineage: str | None,
    rules: RuleSet,
) -> None:
    """Relapse timing, site, BFM strategic group and IntReALL risk."""
    dx, rel, eot = diagnosis.date(), relapse_on.date(), _as_date(end_of_therapy)
    if marrow_blasts is None:
        if cns or testis or other_em or lineage:
            raise click.UsageError("the site and groups need --marrow-blasts")
        timing = relapse_timing(dx, rel, eot, scheme, rules=rules)
        click.echo(f"Timing ({timing.scheme.value.upper()}): {timing.timing.value}")
        click.echo(f"  {timing.reason}")
        _echo_footer(rules, timing.unconfirmed_rules, timing.source)
        return
    result = classify_relapse(
        dx,
        rel,
        eot,
        marrow_blasts,
        lineage or "b",
        cns=cns,
        testis=testis,
        other_extramedullary=other_em,
        scheme=scheme,
        rules=rules,
    )
    click.echo(f"Timing ({result.timing.scheme.value.upper()}): {result.timing.timing.value}")
    click.echo(f"  {result.timing.reason}")
    site = result.site.site_class.value if result.site.site_class else "not classifiable"
    click.echo(f"Site: {site}; marrow {result.site.marrow_status.value}")
    click.echo(f"  {result.site.reason}")
    used = list(result.timing.unconfirmed_rules)
    if lineage is None:
        click.echo("Strategic group / IntReALL risk: give --lineage")
    elif result.strategic_group is None or result.intreall is None:
        click.echo("Strategic group / IntReALL risk: need BFM timing and a classifiable site")
    else:
        click.echo(f"BFM strategic group: {result.strategic_group.group.value}")
        click.echo(f"  {result.strategic_group.reason}")
        risk = result.intreall.group.value if result.intreall.group else "not classified"
        click.echo(f"IntReALL risk: {risk}")
        click.echo(f"  {result.intreall.reason}")
        used = list(result.unconfirmed_rules)
    _echo_footer(rules, used, result.timing.source)


@classify_group.command("marrow")
@click.argument("blasts", type=float)
@_rules_option
@_user_errors({"blasts_pct": "BLASTS"})
def classify_marrow_command(blasts: float, rules: RuleSet) -> None:
    """Marrow status (M1/M2/M3) from BLASTS, the marrow blast percentage."""
    click.echo(f"Marrow: {marrow_status(blasts, rules=rules).value}")
    _echo_footer(rules, (), SRC_MARROW)


@classify_group.command("mrd")
@click.argument("value", type=float)
@click.option("--sensitivity", type=float, default=None, help="Assay sensitivity as a fraction, e.g. 1e-5.")
@click.option("--threshold", type=float, default=None, help="Negativity threshold (default 1e-4).")
@_rules_option
@_user_errors({"value": "VALUE", "sensitivity": "--sensitivity", "threshold": "--threshold"})
def classify_mrd_command(value: float, sensitivity: float | None, threshold: float | None, rules: RuleSet) -> None:
    """MRD status of VALUE, a fraction (1e-4 = 0.01%)."""
    result = mrd_status(value, sensitivity, threshold, rules=rules)
    click.echo(f"MRD: {result.status.value}" + ("; complete MRD response" if result.complete_mrd_response else ""))
    click.echo(f"  {result.reason}")
    _echo_footer(rules, (), result.source)


@classify_group.command("response")
@click.option("--blasts", type=float, required=True, help="Marrow blasts, %.")
@click.option("--anc", type=float, required=True, help="Absolute neutrophil count, /uL.")
@click.option("--platelets", type=float, required=True, help="Platelets, /uL.")
@click.option("--extramedullary", is_flag=True, help="Extramedullary disease present.")
@click.option("--circulating-blasts", is_flag=True, help="Circulating blasts present.")
@click.option("--baseline-blasts", type=float, default=None, help="Marrow blasts before treatment, %.")
@click.option("--new-extramedullary", is_flag=True, help="Extramedullary disease new since baseline.")
@_rules_option
@_user_errors(
    {
        "blasts_pct": "--blasts",
        "anc": "--anc",
        "platelets": "--platelets",
        "baseline_blasts_pct": "--baseline-blasts",
        "new_extramedullary": "--new-extramedullary",
    }
)
def classify_response_command(
    blasts: float,
    anc: float,
    platelets: float,
    extramedullary: bool,
    circulating_blasts: bool,
    baseline_blasts: float | None,
    new_extramedullary: bool,
    rules: RuleSet,
) -> None:
    """Hematologic response: CR, CRh, CRi, PR, no response or progression."""
    result = response_category(
        blasts,
        anc,
        platelets,
        extramedullary,
        circulating_blasts,
        baseline_blasts_pct=baseline_blasts,
        new_extramedullary=new_extramedullary,
        rules=rules,
    )
    click.echo(f"Response: {result.category.value}")
    click.echo(f"  {result.reason}")
    _echo_footer(rules, result.unconfirmed_rules, result.source)
