"""The in-memory registry: one pandas DataFrame per record type, columns exactly the model fields.

Bulk work (import, validation across records, derivation, export) is column-wise on these frames;
single records (API, forms, tests) go through the pydantic models. `parse_rows` is the one place
where untyped input (CSV strings, spreadsheet cells, JSON) becomes typed columns, and it reports
every field problem with row, field, value and reason.
"""

from __future__ import annotations

import datetime as dt
import difflib
import enum
import operator
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pydantic import TypeAdapter, ValidationError

from blinareg.records.models import MISSING_SUFFIX, PRECISION_SUFFIX, RECORD_MODELS, RECORD_TYPES, Record, missing_spec
from blinareg.records.problems import Problem
from blinareg.records.vocabulary import DatePrecision, MissingCode

# How each Python annotation is held in a frame column.
_DATE, _BOOL, _INT, _FLOAT, _TEXT = "date", "bool", "int", "float", "text"
PandasDtype = typing.Literal["datetime64[ns]", "boolean", "Int64", "float64", "object"]
_PANDAS_DTYPE: dict[str, PandasDtype] = {
    _DATE: "datetime64[ns]",
    _BOOL: "boolean",
    _INT: "Int64",
    _FLOAT: "float64",
    _TEXT: "object",
}


def _base_type(annotation: object) -> object:
    """Strip Optional[...] and Annotated[...] down to the Python type."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = members[0]
        else:
            return annotation


def _kind(annotation: object) -> str:
    base = _base_type(annotation)
    if base is dt.date:
        return _DATE
    if base is bool:
        return _BOOL
    if base is int:
        return _INT
    if base is float:
        return _FLOAT
    return _TEXT


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # date, bool, int, float, text
    required: bool  # a value (or, where `codes` allows, a missing-data code) is required
    enum: type[enum.Enum] | None
    description: str
    # Missing data (blinareg.records.missing): the codes this cell accepts and whether a date may be partial;
    # for a companion column (`<field>_missing`, `<date>_precision`), the field it belongs to.
    codes: tuple[str, ...] = ()
    partial_date: bool = False
    companion_of: str | None = None

    @property
    def pandas_dtype(self) -> PandasDtype:
        return _PANDAS_DTYPE[self.kind]


def columns(model: type[Record]) -> tuple[Column, ...]:
    """The cell columns of a record type, in model field order: the CSV/XLSX columns a center sees.

    Companion columns (missing-data codes, date precisions) are not among them: in files a code or a
    partial date is written in the field's own cell. `storage_columns` adds them.
    """
    return tuple(c for c in storage_columns(model) if c.companion_of is None)


def storage_columns(model: type[Record]) -> tuple[Column, ...]:
    """Every column of a record type's frame and table: the cell columns and their companions."""
    cached = _COLUMNS.get(model)
    if cached is None:
        spec = missing_spec(model)
        code_of = {companion: name for name, companion, _ in spec.codes}
        companion_of = {**code_of, **{companion: name for name, companion in spec.partial_dates}}
        partial = {name for name, _ in spec.partial_dates}
        result = []
        for name, info in model.model_fields.items():
            base = _base_type(info.annotation)
            enum_type = base if isinstance(base, type) and issubclass(base, enum.Enum) else None
            # A cell column and its `_missing` companion carry the accepted codes; a `_precision` one none.
            codes = (
                frozenset()
                if name in companion_of and name not in code_of
                else spec.accepted.get(code_of.get(name, name), frozenset())
            )
            accepted = tuple(code.value for code in MissingCode if code in codes)
            result.append(
                Column(
                    name,
                    _kind(info.annotation),
                    info.is_required() or name in spec.required,
                    enum_type,
                    info.description or "",
                    codes=accepted,
                    partial_date=name in partial,
                    companion_of=companion_of.get(name),
                )
            )
        cached = _COLUMNS[model] = tuple(result)
    return cached


_COLUMNS: dict[type[Record], tuple[Column, ...]] = {}


def empty_frame(model: type[Record]) -> pd.DataFrame:
    return pd.DataFrame({c.name: pd.Series([], dtype=c.pandas_dtype) for c in storage_columns(model)})


def shared_strings(values: np.ndarray) -> np.ndarray:
    """An object array equal to `values` in which equal strings are one object.

    Text read from a database or built with numpy (`np.where(...).astype(object)`) holds a separate str
    per cell; a column of a few codes then costs ~60 bytes a row instead of 8 (hundreds of MiB at
    100,000 patients, benchmarks/report_bench.py). Values and dtype are unchanged."""
    seen: dict[object, object] = {}
    try:
        return np.fromiter((seen.setdefault(v, v) for v in values.tolist()), dtype=object, count=len(values))
    except TypeError:  # an unhashable cell (not text): left as it is, for validation to report
        return np.asarray(values, dtype=object)


def normalize_frame(model: type[Record], frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical column order and dtypes (dates as datetime64, enums as their string codes)."""
    out = {}
    n = len(frame)
    for column in storage_columns(model):
        values = frame[column.name] if column.name in frame.columns else pd.Series([None] * n, dtype=object)
        if column.kind == _DATE:
            values = pd.to_datetime(values).astype("datetime64[ns]")
        elif column.kind == _TEXT:
            values = values.astype(object).where(values.notna(), None)
            if column.enum is not None:
                # Members hash and compare like their str codes, so one lookup maps members and codes alike.
                code = {member: member.value for member in column.enum}.get
                values = pd.Series([code(v, v) for v in values.tolist()], index=values.index, dtype=object)
            else:
                values = pd.Series(shared_strings(values.to_numpy()), index=values.index, dtype=object)
        else:
            values = values.astype(column.pandas_dtype)
        out[column.name] = values.reset_index(drop=True) if isinstance(values, pd.Series) else values
    return pd.DataFrame(out, index=pd.RangeIndex(n))


@dataclass
class Registry:
    """All records of a registry (or of one import batch), one frame per record type."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    # Where the records came from, when they were read from files: record type -> (sheet or file, the
    # row of each frame row). Validation puts them on cross-record problems (`locate`).
    origins: dict[str, tuple[str | None, list[int]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.tables) - set(RECORD_TYPES)
        if unknown:
            raise ValueError(f"unknown record types: {sorted(unknown)}")
        for record_type, model in RECORD_TYPES.items():
            frame = self.tables.get(record_type)
            origin = None if frame is None else frame.attrs.get("origin")
            if (
                frame is not None
                and origin is not None
                and len(origin[1]) == len(frame)
                and record_type not in self.origins
            ):
                self.origins[record_type] = origin
            self.tables[record_type] = empty_frame(model) if frame is None else normalize_frame(model, frame)

    def __getitem__(self, record_type: str) -> pd.DataFrame:
        return self.tables[record_type]

    @classmethod
    def of_normalized(
        cls, tables: Mapping[str, pd.DataFrame], origins: dict[str, tuple[str | None, list[int]]] | None = None
    ) -> "Registry":
        """A registry of frames that are already canonical (`normalize_frame` output, or frames read by
        the store): normalizing again costs more than validating one patient's few records."""
        registry = cls.__new__(cls)
        registry.tables = {record_type: tables[record_type] for record_type in RECORD_TYPES}
        registry.origins = dict(origins or {})
        return registry

    def replaced(self, record_type: str, frame: pd.DataFrame) -> "Registry":
        """This registry with one record type's frame replaced (only that frame is normalized)."""
        tables = dict(self.tables)
        tables[record_type] = normalize_frame(RECORD_TYPES[record_type], frame)
        origins = {name: origin for name, origin in self.origins.items() if name != record_type}
        return Registry.of_normalized(tables, origins)

    @classmethod
    def from_records(cls, records: Iterable[Record]) -> "Registry":
        rows: dict[str, list[dict[str, object]]] = {}
        for record in records:
            rows.setdefault(record.record_type, []).append(dict(record))
        return cls({name: pd.DataFrame(value) for name, value in rows.items()})

    def records(self, record_type: str) -> list[Record]:
        """Typed records of one type (for small registries, API and tests; bulk code uses frames)."""
        model = RECORD_TYPES[record_type]
        return [model.model_validate(row) for row in frame_to_dicts(model, self.tables[record_type])]

    def patient_ids(self) -> list[str]:
        return sorted(self.tables["patient"]["patient_id"].tolist())

    def counts(self) -> dict[str, int]:
        return {name: len(frame) for name, frame in self.tables.items()}

    def subset(self, patient_ids: Iterable[str]) -> "Registry":
        """The records of some patients (and the centers they belong to)."""
        wanted = set(patient_ids)
        tables = {}
        for name, frame in self.tables.items():
            if "patient_id" in frame.columns:
                tables[name] = frame[frame["patient_id"].isin(wanted)]
        centers = set(tables["patient"]["center_id"])
        tables["center"] = self.tables["center"][self.tables["center"]["center_id"].isin(centers)]
        return Registry(tables)


def frame_to_dicts(model: type[Record], frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as plain Python values (date, bool, int, float, str, None) for the model or the database."""
    cols = storage_columns(model)
    data: dict[str, list[object]] = {}
    for column in cols:
        series = frame[column.name]
        if column.kind == _DATE and pd.api.types.is_datetime64_dtype(series.dtype):
            # .dt.date converts in C; iterating Timestamps one by one was most of the time of this function
            dates = series.dt.date.to_numpy(dtype=object)
            dates[series.isna().to_numpy()] = None
            values = dates.tolist()
        elif column.kind == _DATE:
            values = [None if pd.isna(v) else v.date() for v in series]
        elif column.kind in (_BOOL, _INT):
            values = [
                None if v is pd.NA or v is None else (bool(v) if column.kind == _BOOL else int(v))
                for v in series.astype(object)
            ]
        elif column.kind == _FLOAT:
            numbers = series.to_numpy(dtype=float)
            values = numbers.tolist()  # Python floats, converted in C
            for index in np.flatnonzero(np.isnan(numbers)).tolist():
                values[index] = None
        else:
            values = series.tolist()
        data[column.name] = values
    names = [c.name for c in cols]
    return [dict(zip(names, row)) for row in zip(*(data[n] for n in names))]


_BLANK = {"", "na", "n/a", "null", "none", "nan"}
_BLANK_LENGTH = max(map(len, _BLANK))
_CODE_TEXT = {code.value for code in MissingCode}
_CODE_LENGTH = max(map(len, _CODE_TEXT))


def _partial_date(text: str) -> tuple[dt.date, DatePrecision] | None:
    """`2017` -> (2017-01-01, year), `2017-07` -> (2017-07-01, month); None for anything else."""
    if len(text) == 4 and text.isdigit():
        year = int(text)
        return (dt.date(year, 1, 1), DatePrecision.YEAR) if year >= 1 else None
    if len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit():
        year, month = int(text[:4]), int(text[5:])
        return (dt.date(year, month, 1), DatePrecision.MONTH) if year >= 1 and 1 <= month <= 12 else None
    return None


def _refused_code_reason(model: type[Record], name: str, code: str, accepted: Mapping[str, tuple[str, ...]]) -> str:
    allowed = accepted.get(name, ())
    if allowed:
        return (
            f"{name} does not accept the missing-data code {code}; it accepts {', '.join(allowed)} "
            f"(blinareg.records.missing)"
        )
    return f"{name} does not accept a missing-data code ({code}): " + (
        "a value is required"
        if any(c.name == name and c.required for c in columns(model))
        else "leave the cell empty when the value is not known"
    )


def parse_rows(
    model: type[Record],
    rows: Sequence[Mapping[str, object]],
    *,
    source: str | None = None,
    first_row_number: int = 2,
    chunk_size: int = 20_000,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Validate untyped rows (CSV strings, spreadsheet cells) against a record model.

    Returns the typed frame and every problem found (all rows, all fields; not only the first).
    Blank cells are missing values. `first_row_number` is the file row of rows[0] (2 for a CSV with a
    header line), so problems point at the line a data manager sees in a spreadsheet.

    Missing data (`blinareg.records.missing`): the text `unknown`, `not_done`, `not_applicable` (or
    `positive_not_quantifiable` for an MRD fraction) in a field that accepts it becomes the field's
    `<field>_missing` code, and `YYYY` or `YYYY-MM` in a date field that accepts partial dates becomes
    the first day of that period with `<field>_precision` year or month. A code or partial date where the
    field does not accept one is a problem naming the field, the value and what the field accepts.
    """
    names = list(model.model_fields)
    problems: list[Problem] = []
    unknown_columns = set()
    cleaned: list[dict[str, object]] = []
    cols = storage_columns(model)
    # A code such as "none" (oxygen, chronic GVHD, ...) is a value, not a blank, in its own enum column;
    # likewise `unknown` is a value of `sex`, not a missing-data code.
    codes = {c.name: {m.value for m in c.enum} for c in cols if c.enum is not None}
    accepted = {c.name: c.codes for c in cols if c.companion_of is None}
    partial = {c.name for c in cols if c.partial_date}
    dates = {c.name for c in cols if c.kind == _DATE and c.companion_of is None}
    known = set(names)  # a local set: model.model_fields is a slow class property, and this runs per cell
    refused: list[tuple[int, str, object, str]] = []
    for index, row in enumerate(rows):
        item: dict[str, object] = {}
        for name, value in row.items():
            if name not in known:
                unknown_columns.add(name)
                continue
            if isinstance(value, str):
                value = value.strip()
                length = len(value)
                if length <= _BLANK_LENGTH and value.lower() in _BLANK and value not in codes.get(name, ()):
                    continue
                if length <= _CODE_LENGTH and value.lower() in _CODE_TEXT and value not in codes.get(name, ()):
                    code = value.lower()
                    if code in accepted.get(name, ()):
                        item[name + MISSING_SUFFIX] = code
                    else:
                        refused.append((index, name, value, _refused_code_reason(model, name, code, accepted)))
                    continue
                if name in dates and (length == 4 or length == 7):
                    parsed = _partial_date(value)
                    if parsed is not None:
                        if name in partial:
                            item[name], item[name + PRECISION_SUFFIX] = parsed
                        else:
                            refused.append(
                                (
                                    index,
                                    name,
                                    value,
                                    f"a partial date ({value}) is not accepted for "
                                    f"{name}: give the full date as YYYY-MM-DD",
                                )
                            )
                        continue
            elif value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            item[name] = value
        cleaned.append(item)
    for index, name, value, reason in refused:
        row = cleaned[index]
        problems.append(
            Problem(
                record_type=model.record_type,
                field=name,
                value=value,
                reason=reason,
                source=source,
                patient_id=str(row["patient_id"]) if row.get("patient_id") is not None else None,
                key=", ".join(f"{k}={row[k]}" for k in model.key if k != "patient_id" and row.get(k) is not None)
                or None,
                row=first_row_number + index,
            )
        )
    for name in sorted(unknown_columns):
        problems.append(
            Problem(
                record_type=model.record_type,
                field=name,
                value=None,
                reason=f"unknown column {name!r} for {model.record_type}; "
                f"expected one of {', '.join(c.name for c in columns(model))}",
                source=source,
            )
        )
    # A refused code or partial date is reported once: not again as a missing required value.
    refused_cells = {(first_row_number + index, name) for index, name, _, _ in refused}
    adapter = _list_adapter(model)
    # One C call per record instead of one getattr per field (attrgetter of one name returns no tuple).
    field_values = operator.attrgetter(*names) if len(names) > 1 else (lambda record: (getattr(record, names[0]),))
    typed_rows: list[tuple[object, ...]] = []
    for start in range(0, len(cleaned), chunk_size):
        chunk = cleaned[start : start + chunk_size]
        try:
            instances = adapter.validate_python(chunk)
        except ValidationError as error:
            found = _problems_from_error(model, error, chunk, start, first_row_number, source)
            problems.extend(p for p in found if (p.row, p.field) not in refused_cells)
            continue
        typed_rows.extend(map(field_values, instances))
    if problems:
        return empty_frame(model), problems
    typed_columns = dict(zip(names, map(list, zip(*typed_rows)))) if typed_rows else {n: [] for n in names}
    frame = normalize_frame(model, pd.DataFrame(typed_columns, columns=names))
    frame.attrs["origin"] = (source, [first_row_number + i for i in range(len(frame))])
    return frame, problems


_ADAPTERS: dict[type[Record], TypeAdapter[list[Record]]] = {}


def _list_adapter(model: type[Record]) -> TypeAdapter[list[Record]]:
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        # A list of the concrete model (validated as that model), typed as its base.
        adapter = _ADAPTERS[model] = TypeAdapter[list[Record]](list[model])  # type: ignore[valid-type]
    return adapter


def _problems_from_error(
    model: type[Record],
    error: ValidationError,
    chunk: list[dict[str, object]],
    offset: int,
    first_row_number: int,
    source: str | None,
) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        location = item["loc"]
        index = location[0] if location and isinstance(location[0], int) else None
        field_name = str(location[1]) if len(location) > 1 else None
        row = chunk[index] if index is not None else {}
        value = row.get(field_name) if field_name else None
        reason = item["msg"]
        if reason.startswith("Value error, "):
            reason = reason[len("Value error, ") :]
        hint = _unit_hint(field_name, value) if item["type"] in _RANGE_ERRORS else None
        if hint:
            reason += f"; {hint}"
        if item["type"] == "enum" and field_name in model.model_fields and isinstance(value, str):
            suggestion = did_you_mean(value, _enum_codes(model, field_name))
            if suggestion:
                reason += f"; did you mean {suggestion!r}?"
        if field_name is None and reason:
            # A model-level check (e.g. end before start): name the first field its message mentions.
            first_word = reason.split(" ", 1)[0]
            field_name = (
                first_word
                if first_word in model.model_fields
                else next((n for n in model.model_fields if n in reason), None)
            )
            value = row.get(field_name) if field_name else None
        key = {k: row.get(k) for k in model.key}
        problems.append(
            Problem(
                record_type=model.record_type,
                patient_id=str(row.get("patient_id")) if row.get("patient_id") is not None else None,
                key=", ".join(f"{k}={v}" for k, v in key.items() if k != "patient_id" and v is not None) or None,
                field=field_name,
                value=value,
                reason=reason,
                source=source,
                row=None if index is None else first_row_number + offset + index,
            )
        )
    return problems


_RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def _unit_hint(field: str | None, value: object) -> str | None:
    """Both readings of a number that is very likely in the wrong unit (metres for cm, grams for kg, a
    percentage for a fraction)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if field == "height_cm" and 0.3 <= number <= 2.5:
        return f"{number:g} looks like metres: {number * 100:g} cm?"
    if field == "weight_kg" and 1000 <= number <= 300_000:
        return f"{number:g} looks like grams: {number / 1000:g} kg?"
    if field in ("fraction", "sensitivity") and 1 < number <= 100:
        return f"{number:g} looks like a percentage: as a fraction {number / 100:g} ({number:g}%)?"
    return None


def _enum_codes(model: type[Record], name: str) -> list[str]:
    column = next((c for c in storage_columns(model) if c.name == name), None)
    return [] if column is None or column.enum is None else [member.value for member in column.enum]


def did_you_mean(value: str, choices: Sequence[str]) -> str | None:
    """The one code a mistyped enumeration value most likely meant: `M` -> `male`, `haplo` ->
    `haploidentical`, `CR 2` -> `CR2`, `Tbi based` -> `tbi_based`; None when no choice is close."""

    def canonical(text: str) -> str:
        return "".join(ch for ch in text.lower() if ch.isalnum())

    wanted = canonical(value)
    if not wanted:
        return None
    same = [c for c in choices if canonical(c) == wanted]
    if len(same) == 1:
        return same[0]
    starts = [c for c in choices if canonical(c).startswith(wanted)]
    if len(starts) == 1:
        return starts[0]
    close = difflib.get_close_matches(wanted, [canonical(c) for c in choices], n=1, cutoff=0.75)
    if close:
        return next(c for c in choices if canonical(c) == close[0])
    return None


def record_models() -> tuple[type[Record], ...]:
    return RECORD_MODELS
