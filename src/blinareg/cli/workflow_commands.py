"""`blinareg queries ...` (data queries) and `blinareg freeze ...` (analysis freezes); docs/freezes-and-queries.md."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import click

from blinareg.cli._options import database_option
from blinareg.errors import UserError

if TYPE_CHECKING:
    from blinareg.store import Store
    from blinareg.store.freezes import Freezes

__all__ = ["freeze_group", "queries_group"]

_STATUSES = ("open", "acknowledged", "resolved")


def _store(database: str | None) -> Store:
    from blinareg.store import Store  # lazily: SQLAlchemy loads only when a command runs

    return Store.open(database)


def _who(value: str) -> str:
    if not value.strip():
        raise UserError("--by: say who (a user name)")
    return value.strip()


# ---- queries ---------------------------------------------------------------------------------------


@click.group("queries")
def queries_group() -> None:
    """Data queries: validation problems of stored records and monitors' questions."""


@queries_group.command("list")
@click.option("--patient", default=None, help="Only this patient's queries.")
@click.option("--center", default=None, help="Only the queries of this center's patients.")
@click.option("--user", default=None, help="Only queries this user opened, acknowledged or resolved.")
@click.option("--status", type=click.Choice(_STATUSES), default=None, help="Only queries with this status.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of the table.")
@database_option
def list_command(
    patient: str | None, center: str | None, user: str | None, status: str | None, as_json: bool, database: str | None
) -> None:
    """List data queries, oldest first (id, status, patient, record, field, problem)."""
    from blinareg.store.queries import DataQueries

    with _store(database) as store:
        found = DataQueries(store).list(patient_id=patient, center_id=center, user=user, status=status)
    if as_json:
        for query in found:
            click.echo(json.dumps(query.to_dict(), ensure_ascii=False, sort_keys=True))
        return
    for query in found:
        record = query.record_type + (f"[{query.record_key}]" if query.record_key else "")
        where = f"{query.patient_id} {record}" + (f".{query.field}" if query.field else "")
        value = "" if query.value is None else f" = {query.value!r}"
        click.echo(f"{query.id:>6}  {query.status:<12} {query.origin:<10} {where}{value}: {query.problem}")
        if query.status == "acknowledged":
            click.echo(f"{'':>6}  acknowledged by {query.acknowledged_by}: {query.acknowledged_reason}")
    click.echo(f"{len(found)} quer{'y' if len(found) == 1 else 'ies'}", err=True)


@queries_group.command("acknowledge")
@click.argument("query_id", type=int)
@click.option("--reason", required=True, help="Why the value stands (e.g. 'dose confirmed by pharmacy').")
@click.option("--by", "by", required=True, help="Who acknowledges (the data manager).")
@database_option
def acknowledge_command(query_id: int, reason: str, by: str, database: str | None) -> None:
    """Acknowledge an open query with a reason: the value stays as recorded."""
    from blinareg.store.queries import DataQueries

    with _store(database) as store:
        DataQueries(store).acknowledge(query_id, reason=reason, actor=_who(by))
    click.echo(f"query {query_id} acknowledged")


@queries_group.command("raise")
@click.option("--patient", required=True, help="Patient id.")
@click.option("--record-type", "record_type", required=True, help="Record type, e.g. relapse.")
@click.option("--key", default="", help="The record's key besides patient_id, e.g. relapse_number=1.")
@click.option("--field", default="", help="The field asked about (empty: the whole record).")
@click.option("--text", required=True, help="The question.")
@click.option("--by", "by", required=True, help="Who raises it (the monitor).")
@database_option
def raise_command(
    patient: str, record_type: str, key: str, field: str, text: str, by: str, database: str | None
) -> None:
    """Raise a manual query on any field of a stored record."""
    from blinareg.store.queries import DataQueries

    with _store(database) as store:
        query_id = DataQueries(store).raise_query(
            patient_id=patient, record_type=record_type, record_key=key, field=field, text=text, actor=_who(by)
        )
    click.echo(f"query {query_id} raised")


@queries_group.command("resolve")
@click.argument("query_id", type=int)
@click.option("--by", "by", required=True, help="Who closes it.")
@database_option
def resolve_command(query_id: int, by: str, database: str | None) -> None:
    """Close a manual query (a validation query is resolved by correcting the record)."""
    from blinareg.store.queries import DataQueries

    with _store(database) as store:
        DataQueries(store).resolve(query_id, actor=_who(by))
    click.echo(f"query {query_id} resolved")


# ---- freezes ---------------------------------------------------------------------------------------


def _iso_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@click.group("freeze")
def freeze_group() -> None:
    """Analysis freezes: the exact record set a report is regenerated from."""


@contextlib.contextmanager
def _freezes(database: str | None) -> Iterator[Freezes]:
    """The freezes of the database, which is closed after the block."""
    from blinareg.store.freezes import Freezes

    with _store(database) as store:
        yield Freezes(store)


def _one_freeze_command(name: str) -> Callable[[Callable[..., Any]], click.Command]:
    """`blinareg freeze NAME FREEZE_ID [--database]`."""

    def register(function: Callable[..., Any]) -> click.Command:
        return freeze_group.command(name)(click.argument("freeze_id", type=int)(database_option(function)))

    return register


@freeze_group.command("create")
@click.option("--name", required=True, help="What the freeze is for, e.g. 'interim analysis 2026'.")
@click.option("--centers", default=None, help="Comma-separated center ids (default: every center).")
@click.option("--as-of", "as_of", default=None, callback=_iso_date, help="Data cut-off date (YYYY-MM-DD).")
@click.option("--by", "by", required=True, help="Who freezes (the investigator).")
@database_option
def create_command(name: str, centers: str | None, as_of: dt.date | None, by: str, database: str | None) -> None:
    """Freeze the stored records (all, or of some centers) with their SHA-256 hash."""
    chosen = None
    if centers is not None:
        chosen = tuple(c.strip() for c in centers.split(",") if c.strip())
        if not chosen:
            raise UserError("--centers: give at least one center id")
    with _freezes(database) as freezes:
        freeze = freezes.create(name, actor=_who(by), centers=chosen, as_of=as_of)
    click.echo(f"freeze {freeze.id} created: {freeze.citation}")


@freeze_group.command("list")
@database_option
def list_freezes_command(database: str | None) -> None:
    """List the freezes: id, created, by, name, centers, cut-off, hash."""
    with _freezes(database) as freezes:
        listed = freezes.list()
    for freeze in listed:
        centers = "all centers" if freeze.centers is None else ",".join(freeze.centers)
        cutoff = f" as of {freeze.as_of.isoformat()}" if freeze.as_of else ""
        click.echo(
            f"{freeze.id:>4}  {freeze.created_at.isoformat(timespec='seconds')}  {freeze.created_by}  "
            f"{freeze.name!r}  {centers}{cutoff}  sha256:{freeze.content_sha256}"
        )


@_one_freeze_command("show")
def show_command(freeze_id: int, database: str | None) -> None:
    """Everything stored about one freeze (JSON), without its records."""
    with _freezes(database) as freezes:
        freeze = freezes.get(freeze_id)
    click.echo(json.dumps(freeze.to_dict(), indent=2, sort_keys=True))


@_one_freeze_command("verify")
def verify_command(freeze_id: int, database: str | None) -> None:
    """Recompute the freeze's SHA-256; exit 1 when it differs from the stored hash."""
    with _freezes(database) as freezes:
        check = freezes.verify(freeze_id)
    if check.ok:
        click.echo(f"freeze {freeze_id}: OK sha256:{check.computed_sha256}")
        return
    click.echo(
        f"freeze {freeze_id}: DAMAGED: stored sha256:{check.stored_sha256}, content hashes to "
        f"sha256:{check.computed_sha256}",
        err=True,
    )
    sys.exit(1)
