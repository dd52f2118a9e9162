"""Report configuration: which sections, the split variable, the time origin and every analysis choice.

`ReportConfig.from_toml_mapping(mapping)` is pure (no I/O): the CLI reads the TOML file and passes the
parsed mapping. Every bad value raises `ReportConfigError` (a `UserError`) naming the key, e.g.
``report config: landmarks_months[1]: must be a number > 0, got 'x'``.

Time is reported in months of 30.4375 days (365.25 / 12); the report states it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from blinareg.errors import UserError

__all__ = [
    "ReportConfig",
    "ReportConfigError",
    "Comparison",
    "ModelSpec",
    "SECTIONS",
    "ORIGINS",
    "NON_RESPONDER_DEFINITIONS",
    "DAYS_PER_MONTH",
    "KM_ENDPOINTS",
    "CIF_ENDPOINTS",
    "normalise_origin",
    "REPORT_KEYS",
    "COMPARISON_KEYS",
    "MODEL_KEYS",
    "SUBGROUP_KEYS",
    "SubgroupSpec",
]

DAYS_PER_MONTH = 30.4375  # 365.25 / 12
SECTIONS = ("cohort", "exposure", "response", "safety", "outcomes", "models", "courses", "text")
ORIGINS = ("first_blinatumomab", "hsct", "diagnosis", "relapse")
NON_RESPONDER_DEFINITIONS = ("no_cr", "no_complete_mrd_response")
KM_ENDPOINTS = ("OS", "EFS", "DFS", "PROS", "GRFS")
CIF_ENDPOINTS = ("CIR", "NRM")
ENDPOINTS = KM_ENDPOINTS + CIF_ENDPOINTS
MODEL_KINDS = ("cox", "fine_gray")
FORMATS = ("html", "pdf", "docx", "json", "figures")


# The keys report.toml accepts (`blinareg report --help` lists every one; a test keeps them in step).
REPORT_KEYS = frozenset(
    {
        "by",
        "by_levels",
        "origin",
        "landmarks_months",
        "non_responder",
        "high_tumour_load_mrd",
        "conf_level",
        "swimmer_max_patients",
        "censor_marks_max",
        "title",
        "formats",
        "sections",
        "comparisons",
        "models",
        "comparison_min_recorded",
        "rmst_horizon_months",
        "table1_p_values",
        "subgroups",
    }
)
SUBGROUP_KEYS = frozenset({"name", "endpoint", "variable", "groups", "subgroups"})
COMPARISON_KEYS = frozenset({"name", "variable", "groups", "endpoints", "population", "timing"})
MODEL_KEYS = frozenset({"name", "kind", "endpoint", "covariates", "reference", "strata", "ph_test"})


class ReportConfigError(UserError, ValueError):
    """A bad report option; the message names the key."""


def _fail(key: str, message: str) -> ReportConfigError:
    return ReportConfigError(f"report config: {key}: {message}")


def normalise_origin(value: Any, key: str = "origin") -> str:
    """'first-blinatumomab' and 'first_blinatumomab' are the same origin."""
    if not isinstance(value, str):
        raise _fail(key, f"must be one of {', '.join(ORIGINS)}, got {value!r}")
    origin = value.strip().lower().replace("-", "_")
    if origin not in ORIGINS:
        raise _fail(key, f"must be one of {', '.join(o.replace('_', '-') for o in ORIGINS)}, got {value!r}")
    return origin


@dataclass(frozen=True)
class Comparison:
    """A subgroup comparison: groups of `variable` (label -> values), optionally within a population.

    population: column -> allowed values, applied before grouping (e.g. only CR>=2 patients).
    endpoints: Kaplan-Meier endpoints are compared by the log-rank test, CIR/NRM by Gray's test.
    """

    name: str
    variable: str
    groups: tuple[tuple[str, tuple[Any, ...]], ...]
    endpoints: tuple[str, ...] = ("DFS", "OS", "CIR", "NRM")
    population: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    timing: str = "origin"  # "origin": from the report's origin; "hsct": from HSCT (HSCT comparisons)

    @property
    def key(self) -> str:
        return _slug(self.name)


@dataclass(frozen=True)
class SubgroupSpec:
    """A subgroup forest plot: the hazard ratio of `groups` (compared vs reference, the first group) for
    `endpoint` within each level of each `subgroups` variable, with the test of interaction."""

    name: str
    endpoint: str
    variable: str
    groups: tuple[tuple[str, tuple[Any, ...]], ...]
    subgroups: tuple[str, ...]

    @property
    def key(self) -> str:
        return _slug(self.name)


@dataclass(frozen=True)
class ModelSpec:
    """A regression model on request: Cox (KM endpoints) or Fine-Gray (CIR/NRM, cause 1)."""

    name: str
    kind: str
    endpoint: str
    covariates: tuple[str, ...]
    reference: tuple[tuple[str, Any], ...] = ()  # covariate -> reference level (default: the most frequent)
    strata: tuple[str, ...] = ()  # Cox only: one baseline hazard per level (R's + strata(center_id))
    ph_test: bool = False  # Cox only: the proportional-hazards test (R's cox.zph) under the model table

    @property
    def key(self) -> str:
        return _slug(self.name)


def _slug(text: str) -> str:
    out = "".join(ch.lower() if ch.isalnum() else "_" for ch in text)
    while "__" in out:
        out = out.replace("__", "_")
    return out.strip("_") or "item"


DEFAULT_COMPARISONS = (
    Comparison(
        name="Remission status at HSCT",
        variable="hsct_remission_status",
        groups=(("CR1", ("CR1",)), ("CR\u22652", ("CR2", "CR3+"))),
        endpoints=("DFS", "OS", "CIR", "NRM"),
        timing="hsct",
    ),
    Comparison(
        name="Inotuzumab before HSCT (CR\u22652)",
        variable="inotuzumab_before_hsct",
        groups=(("No inotuzumab", (False,)), ("Inotuzumab", (True,))),
        endpoints=("DFS", "CIR"),
        population=(("hsct_remission_status", ("CR2", "CR3+")),),
        timing="hsct",
    ),
)


@dataclass(frozen=True)
class ReportConfig:
    """Every choice the report makes. Defaults reproduce the analyses of the published abstracts."""

    sections: frozenset[str] = frozenset(SECTIONS)
    by: str | None = None
    by_levels: tuple[Any, ...] | None = None
    origin: str = "first_blinatumomab"
    landmarks_months: tuple[float, ...] = (12.0, 24.0)
    non_responder: str = "no_cr"
    high_tumour_load_mrd: float = 0.05
    conf_level: float = 0.95
    comparisons: tuple[Comparison, ...] = DEFAULT_COMPARISONS
    models: tuple[ModelSpec, ...] = ()
    subgroups: tuple[SubgroupSpec, ...] = ()
    swimmer_max_patients: int = 100
    censor_marks_max: int = 200
    comparison_min_recorded: float = 0.5
    table1_p_values: bool = False
    rmst_horizon_months: float | None = 24.0
    title: str = "Blinatumomab in B-ALL: registry outcomes report"
    formats: frozenset[str] = frozenset(FORMATS)

    def __post_init__(self) -> None:
        unknown = set(self.sections) - set(SECTIONS)
        if unknown:
            raise _fail("sections", f"unknown section {sorted(unknown)[0]!r}; sections: {', '.join(SECTIONS)}")
        object.__setattr__(self, "origin", normalise_origin(self.origin))
        if self.non_responder not in NON_RESPONDER_DEFINITIONS:
            raise _fail(
                "non_responder", f"must be one of {', '.join(NON_RESPONDER_DEFINITIONS)}, got {self.non_responder!r}"
            )
        if not (0 < self.high_tumour_load_mrd <= 1):
            raise _fail(
                "high_tumour_load_mrd", f"must be a fraction in (0, 1] (0.05 = 5%), got {self.high_tumour_load_mrd!r}"
            )
        if not (0.5 <= self.conf_level < 1):
            raise _fail("conf_level", f"must be in [0.5, 1), got {self.conf_level!r}")
        if not self.landmarks_months:
            raise _fail("landmarks_months", "needs at least one landmark")
        if not (0 <= self.comparison_min_recorded <= 1):
            raise _fail(
                "comparison_min_recorded", f"must be a fraction in [0, 1], got {self.comparison_min_recorded!r}"
            )
        if self.rmst_horizon_months is not None and not self.rmst_horizon_months > 0:
            raise _fail("rmst_horizon_months", f"must be a number > 0, got {self.rmst_horizon_months!r}")
        if self.swimmer_max_patients < 1:
            raise _fail("swimmer_max_patients", f"must be >= 1, got {self.swimmer_max_patients!r}")
        if self.censor_marks_max < 1:
            raise _fail("censor_marks_max", f"must be >= 1, got {self.censor_marks_max!r}")
        bad_formats = set(self.formats) - set(FORMATS)
        if bad_formats:
            raise _fail("formats", f"unknown format {sorted(bad_formats)[0]!r}; formats: {', '.join(FORMATS)}")

    def enabled(self, section: str) -> bool:
        return section in self.sections

    @property
    def landmarks_days(self) -> tuple[float, ...]:
        return tuple(m * DAYS_PER_MONTH for m in self.landmarks_months)

    def with_options(self, **changes: Any) -> "ReportConfig":
        """A copy with the given fields replaced (None values are ignored), validated again."""
        kept = {k: v for k, v in changes.items() if v is not None}
        return replace(self, **kept)

    @classmethod
    def from_toml_mapping(cls, mapping: Mapping[str, Any]) -> "ReportConfig":
        """Build from a parsed TOML mapping (the file's ``[report]`` table if it has one).

        Keys: by, by_levels, origin, landmarks_months, non_responder, high_tumour_load_mrd, conf_level,
        swimmer_max_patients, censor_marks_max, comparison_min_recorded, rmst_horizon_months, title, formats, sections
        (table section -> bool), comparisons (array of tables: name, variable, groups {label = [values]},
        endpoints, population {column = [values]}, timing origin|hsct), models (array of tables: name,
        kind cox|fine_gray, endpoint, covariates, reference {covariate = level}, strata [columns] and
        ph_test true|false for Cox models).
        """
        if not isinstance(mapping, Mapping):
            raise _fail("(top level)", f"must be a table, got {type(mapping).__name__}")
        if "report" in mapping and isinstance(mapping["report"], Mapping):
            mapping = mapping["report"]
        known = REPORT_KEYS
        for key in mapping:
            if key not in known:
                raise _fail(str(key), f"unknown key; known keys: {', '.join(sorted(known))}")
        options: dict[str, Any] = {}
        if "by" in mapping:
            options["by"] = _string(mapping["by"], "by")
        if "by_levels" in mapping:
            options["by_levels"] = tuple(_list(mapping["by_levels"], "by_levels"))
        if "origin" in mapping:
            options["origin"] = normalise_origin(mapping["origin"])
        if "landmarks_months" in mapping:
            values = _list(mapping["landmarks_months"], "landmarks_months")
            options["landmarks_months"] = tuple(_positive(v, f"landmarks_months[{i}]") for i, v in enumerate(values))
        if "non_responder" in mapping:
            options["non_responder"] = _choice(mapping["non_responder"], "non_responder", NON_RESPONDER_DEFINITIONS)
        if "high_tumour_load_mrd" in mapping:
            options["high_tumour_load_mrd"] = _positive(mapping["high_tumour_load_mrd"], "high_tumour_load_mrd")
        if "conf_level" in mapping:
            options["conf_level"] = _positive(mapping["conf_level"], "conf_level")
        for key in ("swimmer_max_patients", "censor_marks_max"):
            if key in mapping:
                value = mapping[key]
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise _fail(key, f"must be a whole number >= 1, got {value!r}")
                options[key] = value
        if "comparison_min_recorded" in mapping:
            value = mapping["comparison_min_recorded"]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise _fail("comparison_min_recorded", f"must be a fraction in [0, 1] (0.5 = half), got {value!r}")
            options["comparison_min_recorded"] = float(value)
        if "table1_p_values" in mapping:
            if not isinstance(mapping["table1_p_values"], bool):
                raise _fail("table1_p_values", f"must be true or false, got {mapping['table1_p_values']!r}")
            options["table1_p_values"] = mapping["table1_p_values"]
        if "rmst_horizon_months" in mapping:
            options["rmst_horizon_months"] = _positive(mapping["rmst_horizon_months"], "rmst_horizon_months")
        if "title" in mapping:
            options["title"] = _string(mapping["title"], "title")
        if "formats" in mapping:
            options["formats"] = frozenset(
                _choice(v, f"formats[{i}]", FORMATS) for i, v in enumerate(_list(mapping["formats"], "formats"))
            )
        if "sections" in mapping:
            table = mapping["sections"]
            if not isinstance(table, Mapping):
                raise _fail("sections", "must be a table of section = true/false")
            enabled = set(SECTIONS)
            for name, on in table.items():
                if name not in SECTIONS:
                    raise _fail(f"sections.{name}", f"unknown section; sections: {', '.join(SECTIONS)}")
                if not isinstance(on, bool):
                    raise _fail(f"sections.{name}", f"must be true or false, got {on!r}")
                if not on:
                    enabled.discard(name)
            options["sections"] = frozenset(enabled)
        if "comparisons" in mapping:
            items = _list(mapping["comparisons"], "comparisons")
            options["comparisons"] = tuple(_comparison(item, f"comparisons[{i}]") for i, item in enumerate(items))
        if "models" in mapping:
            items = _list(mapping["models"], "models")
            options["models"] = tuple(_model(item, f"models[{i}]") for i, item in enumerate(items))
        if "subgroups" in mapping:
            items = _list(mapping["subgroups"], "subgroups")
            options["subgroups"] = tuple(_subgroup(item, f"subgroups[{i}]") for i, item in enumerate(items))
        return cls(**options)


def _string(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(key, f"must be a non-empty string, got {value!r}")
    return value.strip()


def _list(value: Any, key: str) -> list[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise _fail(key, f"must be an array, got {value!r}")
    return list(value)


def _positive(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value != value:
        raise _fail(key, f"must be a number > 0, got {value!r}")
    return float(value)


def _choice(value: Any, key: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise _fail(key, f"must be one of {', '.join(choices)}, got {value!r}")
    return str(value)


def _value_table(value: Any, key: str) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    if not isinstance(value, Mapping) or not value:
        raise _fail(key, "must be a non-empty table of label = [values]")
    out = []
    for label, values in value.items():
        items = values if isinstance(values, (list, tuple)) else [values]
        if not items:
            raise _fail(f"{key}.{label}", "needs at least one value")
        out.append((str(label), tuple(items)))
    return tuple(out)


def _check_item(item: Any, key: str, allowed: frozenset[str], required: tuple[str, ...], what: str) -> None:
    """An array-of-tables entry: a table, with only `allowed` keys and every `required` one."""
    if not isinstance(item, Mapping):
        raise _fail(key, f"must be a table with {what}")
    for name in item:
        if name not in allowed:
            raise _fail(f"{key}.{name}", f"unknown key; known keys: {', '.join(sorted(allowed))}")
    for name in required:
        if name not in item:
            raise _fail(f"{key}.{name}", "is required")


def _comparison(item: Any, key: str) -> Comparison:
    _check_item(item, key, COMPARISON_KEYS, ("name", "variable", "groups"), "name, variable, groups")
    endpoints = tuple(
        _choice(e, f"{key}.endpoints[{i}]", ENDPOINTS)
        for i, e in enumerate(_list(item.get("endpoints", ["DFS", "OS", "CIR", "NRM"]), f"{key}.endpoints"))
    )
    groups = _value_table(item["groups"], f"{key}.groups")
    if len(groups) < 2:
        raise _fail(f"{key}.groups", "a comparison needs at least two groups")
    return Comparison(
        name=_string(item["name"], f"{key}.name"),
        variable=_string(item["variable"], f"{key}.variable"),
        groups=groups,
        endpoints=endpoints,
        population=_value_table(item["population"], f"{key}.population") if "population" in item else (),
        timing=_choice(item.get("timing", "origin"), f"{key}.timing", ("origin", "hsct")),
    )


def _subgroup(item: Any, key: str) -> SubgroupSpec:
    required = ("endpoint", "variable", "groups", "subgroups")
    _check_item(item, key, SUBGROUP_KEYS, required, "endpoint, variable, groups, subgroups")
    groups = _value_table(item["groups"], f"{key}.groups")
    if len(groups) != 2:
        raise _fail(f"{key}.groups", "needs exactly two groups: the reference first, then the one compared with it")
    subgroups = tuple(
        _string(c, f"{key}.subgroups[{i}]") for i, c in enumerate(_list(item["subgroups"], f"{key}.subgroups"))
    )
    if not subgroups:
        raise _fail(f"{key}.subgroups", "needs at least one subgroup variable")
    endpoint = _choice(item["endpoint"], f"{key}.endpoint", KM_ENDPOINTS)
    variable = _string(item["variable"], f"{key}.variable")
    name = _string(item["name"], f"{key}.name") if "name" in item else f"{endpoint} by {variable}: subgroups"
    return SubgroupSpec(name=name, endpoint=endpoint, variable=variable, groups=groups, subgroups=subgroups)


def _model(item: Any, key: str) -> ModelSpec:
    _check_item(item, key, MODEL_KEYS, ("kind", "endpoint", "covariates"), "name, kind, endpoint, covariates")
    kind = _choice(item["kind"], f"{key}.kind", MODEL_KINDS)
    valid = KM_ENDPOINTS if kind == "cox" else CIF_ENDPOINTS
    endpoint = _choice(item["endpoint"], f"{key}.endpoint", valid)
    covariates = tuple(
        _string(c, f"{key}.covariates[{i}]") for i, c in enumerate(_list(item["covariates"], f"{key}.covariates"))
    )
    if not covariates:
        raise _fail(f"{key}.covariates", "needs at least one covariate")
    name = _string(item["name"], f"{key}.name") if "name" in item else f"{kind} {endpoint}: {', '.join(covariates)}"
    reference: tuple[tuple[str, Any], ...] = ()
    if "reference" in item:
        table = item["reference"]
        if not isinstance(table, Mapping):
            raise _fail(f"{key}.reference", "must be a table of covariate = reference level")
        for covariate in table:
            if covariate not in covariates:
                raise _fail(f"{key}.reference.{covariate}", f"not a covariate of this model ({', '.join(covariates)})")
        reference = tuple((str(k), v) for k, v in table.items())
    strata: tuple[str, ...] = ()
    if "strata" in item:
        if kind != "cox":
            raise _fail(f"{key}.strata", 'only a Cox model (kind = "cox") can be stratified')
        strata = tuple(_string(c, f"{key}.strata[{i}]") for i, c in enumerate(_list(item["strata"], f"{key}.strata")))
        for column in strata:
            if column in covariates:
                raise _fail(f"{key}.strata", f"{column!r} is also a covariate; a stratum has no hazard ratio")
    ph_test = item.get("ph_test", False)
    if not isinstance(ph_test, bool):
        raise _fail(f"{key}.ph_test", f"must be true or false, got {ph_test!r}")
    if ph_test and kind != "cox":
        raise _fail(f"{key}.ph_test", 'the proportional-hazards test is for Cox models (kind = "cox")')
    return ModelSpec(
        name=name,
        kind=kind,
        endpoint=endpoint,
        covariates=covariates,
        reference=reference,
        strata=strata,
        ph_test=ph_test,
    )
