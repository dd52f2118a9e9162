"""Analysis freezes: the exact record set of the registry (or of some centers) at one moment, kept for good.

A freeze stores the lossless CSV export (`blinareg.exchange.write_registry`: the same bytes as
`blinareg export`) zipped deterministically (files in name order, fixed timestamps and permissions),
the SHA-256 of that archive, when and by whom it was made, the centers, the data cut-off (`as_of`),
the store schema revision, the blinareg version, the records per type and the data queries per status
at that moment. It locks nothing: the live records can be edited afterwards without changing it, and a
report made from it (`blinareg report --freeze ID`) is byte-identical every time.

`as_of` is the analysis data cut-off (docs/freezes-and-queries.md): the records are frozen as stored
when the freeze is made, and the analysis of the freeze ignores events after `as_of` and censors
follow-up at it (`blinareg.derive.derive(as_of=...)`), as a biostatistician's data cut-off does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import tempfile
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext

from blinareg import __version__
from blinareg.errors import UserError
from blinareg.records.registry import Registry
from blinareg.store import _io
from blinareg.store.queries import query_counts
from blinareg.store.schema import analysis_freeze, audit_log

if TYPE_CHECKING:
    from blinareg.store.store import Store

__all__ = ["Freeze", "FreezeCheck", "Freezes", "pack_registry", "unpack_registry"]

# Fixed member timestamp: the archive's bytes depend on the records only.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Freeze:
    id: int
    name: str
    created_at: dt.datetime  # UTC
    created_by: str
    centers: tuple[str, ...] | None  # None: every center
    as_of: dt.date | None
    schema_revision: str
    blinareg_version: str
    content_sha256: str
    size_bytes: int
    record_counts: dict[str, int]
    query_counts: dict[str, int]

    @property
    def citation(self) -> str:
        return f"analysis freeze {self.id} '{self.name}' (SHA-256 {self.content_sha256})"

    def to_dict(self) -> dict[str, object]:
        """What reports and `freeze show` state about the freeze (no record content)."""
        return {
            "id": self.id,
            "name": self.name,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "created_by": self.created_by,
            "centers": None if self.centers is None else list(self.centers),
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "schema_revision": self.schema_revision,
            "blinareg_version": self.blinareg_version,
            "content_sha256": self.content_sha256,
            "size_bytes": self.size_bytes,
            "record_counts": self.record_counts,
            "query_counts": self.query_counts,
        }


@dataclass(frozen=True)
class FreezeCheck:
    freeze_id: int
    stored_sha256: str
    computed_sha256: str

    @property
    def ok(self) -> bool:
        return self.stored_sha256 == self.computed_sha256


def pack_registry(registry: Registry) -> bytes:
    """The registry's lossless CSV export as a deterministic ZIP archive."""
    from blinareg.exchange import write_registry

    with tempfile.TemporaryDirectory(prefix="blinareg-freeze-") as temp:
        folder = write_registry(registry, Path(temp) / "records", format="csv")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for path in sorted(folder.iterdir()):
                member = zipfile.ZipInfo(path.name, date_time=_ZIP_TIME)
                member.compress_type = zipfile.ZIP_DEFLATED
                member.external_attr = 0o644 << 16
                archive.writestr(member, path.read_bytes(), compresslevel=9)
    return buffer.getvalue()


def unpack_registry(content: bytes) -> Registry:
    """The registry held by an archive of `pack_registry` (read as `blinareg import` reads a folder)."""
    from blinareg.exchange import read_registry

    with tempfile.TemporaryDirectory(prefix="blinareg-freeze-") as temp:
        folder = Path(temp) / "records"
        folder.mkdir()
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            for name in archive.namelist():
                if "/" in name or "\\" in name or not name.endswith(".csv"):
                    raise UserError(f"freeze archive holds an unexpected member {name!r}")
                (folder / name).write_bytes(archive.read(name))
        registry, problems = read_registry(folder)
    errors = [p for p in problems if p.severity.value == "error"]
    if errors:
        raise UserError(f"the freeze archive does not read back: {errors[0]}")
    return registry


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _centers_subset(registry: Registry, centers: tuple[str, ...]) -> Registry:
    known = set(registry["center"]["center_id"])
    unknown = [center for center in centers if center not in known]
    if unknown:
        raise UserError(f"--centers: no stored center {unknown[0]!r} (stored: {', '.join(sorted(known)) or 'none'})")
    patients = registry["patient"]
    chosen = registry.subset(patients.loc[patients["center_id"].isin(centers), "patient_id"])
    tables = dict(chosen.tables)
    tables["center"] = registry["center"][registry["center"]["center_id"].isin(centers)]
    return Registry(tables)


def _freeze_of(row: sa.RowMapping) -> Freeze:
    created = row["created_at"]
    created = (created if created.tzinfo else created.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    return Freeze(
        id=int(row["id"]),
        name=row["name"],
        created_at=created,
        created_by=row["created_by"],
        centers=None if row["centers"] is None else tuple(json.loads(row["centers"])),
        as_of=row["as_of"],
        schema_revision=row["schema_revision"],
        blinareg_version=row["blinareg_version"],
        content_sha256=row["content_sha256"],
        size_bytes=int(row["size_bytes"]),
        record_counts=json.loads(row["record_counts"]),
        query_counts=json.loads(row["query_counts"]),
    )


_SUMMARY_COLUMNS = [c for c in analysis_freeze.c if c.name != "content"]


class Freezes:
    """The analysis freezes of a store: `Freezes(store).create(...)`, `.list()`, `.get(id)`, `.verify(id)`."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def create(
        self,
        name: str,
        *,
        actor: str,
        centers: tuple[str, ...] | None = None,
        as_of: dt.date | None = None,
    ) -> Freeze:
        """Freeze the stored records (of `centers`, or all) in one transaction, with an audit row."""
        label = (name or "").strip()
        who = (actor or "").strip()
        if not label:
            raise UserError("--name: a freeze needs a name (e.g. 'interim analysis 2026')")
        if not who:
            raise UserError("--by: say who makes the freeze")
        with self._store._transaction(write=True) as connection:
            registry = _io.read_registry(connection)
            if centers is not None:
                centers = tuple(sorted(set(centers)))
                registry = _centers_subset(registry, centers)
            patient_ids = list(registry["patient"]["patient_id"])
            if not patient_ids:
                raise UserError("nothing to freeze: no stored patients" + (" in those centers" if centers else ""))
            content = pack_registry(registry)
            revision = MigrationContext.configure(connection).get_current_revision() or ""
            values = {
                "name": label[:200],
                "created_at": _io.utc_now(),
                "created_by": who[:100],
                "centers": None if centers is None else json.dumps(list(centers)),
                "as_of": as_of,
                "schema_revision": revision,
                "blinareg_version": __version__,
                "content_sha256": _sha256(content),
                "content": content,
                "record_counts": json.dumps(registry.counts(), sort_keys=True),
                "query_counts": json.dumps(query_counts(connection, patient_ids).to_dict(), sort_keys=True),
            }
            freeze_id = int(
                connection.execute(
                    sa.insert(analysis_freeze).values(values).returning(analysis_freeze.c.id)
                ).scalar_one()
            )
            after = {k: values[k] for k in ("name", "centers", "as_of", "content_sha256", "schema_revision")}
            connection.execute(
                audit_log.insert().values(
                    at=_io.utc_now(),
                    actor=who[:100],
                    action="freeze",
                    record_type=analysis_freeze.name,
                    patient_id=None,
                    record_key=json.dumps({"freeze_id": freeze_id}),
                    before=None,
                    after=json.dumps(after, default=str, sort_keys=True),
                    batch_id=str(uuid.uuid4()),
                    source=None,
                )
            )
        return self.get(freeze_id)

    def _select(self) -> sa.Select[tuple[object, ...]]:
        size = sa.func.length(analysis_freeze.c.content).label("size_bytes")
        return sa.select(*_SUMMARY_COLUMNS, size).order_by(analysis_freeze.c.id)

    def list(self) -> list[Freeze]:
        with self._store._transaction() as connection:
            return [_freeze_of(row) for row in connection.execute(self._select()).mappings()]

    def get(self, freeze_id: int) -> Freeze:
        with self._store._transaction() as connection:
            row = connection.execute(self._select().where(analysis_freeze.c.id == freeze_id)).mappings().first()
        if row is None:
            raise UserError(f"no analysis freeze with id {freeze_id}")
        return _freeze_of(row)

    def _content(self, freeze_id: int) -> tuple[str, bytes]:
        with self._store._transaction() as connection:
            row = connection.execute(
                sa.select(analysis_freeze.c.content_sha256, analysis_freeze.c.content).where(
                    analysis_freeze.c.id == freeze_id
                )
            ).first()
        if row is None:
            raise UserError(f"no analysis freeze with id {freeze_id}")
        return str(row[0]), bytes(row[1])

    def verify(self, freeze_id: int) -> FreezeCheck:
        """Recompute the archive's SHA-256 and compare it with the stored one."""
        stored, content = self._content(freeze_id)
        return FreezeCheck(freeze_id, stored, _sha256(content))

    def content(self, freeze_id: int) -> bytes:
        """The archive, after checking its hash (a changed archive is refused, never analysed)."""
        stored, content = self._content(freeze_id)
        computed = _sha256(content)
        if computed != stored:
            raise UserError(
                f"analysis freeze {freeze_id} is damaged: its content hashes to {computed}, not the stored {stored}"
            )
        return content

    def registry(self, freeze_id: int) -> Registry:
        """The frozen records (hash checked first)."""
        return unpack_registry(self.content(freeze_id))
