"""Options and progress display shared by every command, so each option has one spelling and one meaning.

- ``--database``: a database URL or a plain SQLite file path (``registry.sqlite`` means
  ``sqlite:///registry.sqlite``), default $BLINAREG_DATABASE_URL, else sqlite:///blinareg.sqlite.
- ``--origin``: ``first_blinatumomab``, ``hsct``, ``diagnosis`` or ``relapse`` (the names of
  `blinareg.derive`); a hyphen is accepted for an underscore (``first-blinatumomab``).
- ``--non-responder``: ``no_cr`` or ``no_complete_mrd_response`` (hyphens accepted as well).
- `path_option`: an option naming a file or folder, given to the command as a `Path`.
- `progress`: a progress callback (stage, done, total) drawing on stderr only when it is a terminal.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import click

__all__ = [
    "DATABASE_ENV",
    "database_url",
    "database_option",
    "origin_option",
    "non_responder_option",
    "NamedChoice",
    "path_option",
    "progress",
]

DATABASE_ENV = "BLINAREG_DATABASE_URL"
ORIGINS = ("first_blinatumomab", "hsct", "diagnosis", "relapse")
NON_RESPONDER_DEFINITIONS = ("no_cr", "no_complete_mrd_response")


def database_url(value: str | None) -> str | None:
    """A database URL; a value without ``://`` is a SQLite file path."""
    if value is None or not value.strip():
        return None
    return value if "://" in value else f"sqlite:///{value}"


def database_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--database URL|FILE`` (parameter `database`), read from $BLINAREG_DATABASE_URL when not given."""
    return click.option(
        "--database",
        "database",
        metavar="URL|FILE",
        envvar=DATABASE_ENV,
        show_envvar=True,
        callback=lambda _ctx, _param, value: database_url(value),
        help="Database URL (sqlite:///FILE or postgresql://...) or a SQLite file; default "
        f"${DATABASE_ENV} or sqlite:///blinareg.sqlite.",
    )(command)


class NamedChoice(click.Choice):  # type: ignore[type-arg]  # generic only in newer click stubs
    """A choice of snake_case names that also accepts them spelled with hyphens (``first-blinatumomab``)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            value = value.strip().lower().replace("-", "_")
        return super().convert(value, param, ctx)


def _named_choice_option(
    flag: str, parameter: str, choices: Sequence[str], help_text: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """An option taking one of `choices` (hyphens accepted), the first being the default."""
    return click.option(
        flag, parameter, type=NamedChoice(choices), default=choices[0], show_default=True, help=help_text
    )


def origin_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--origin`` (parameter `origin`), default first_blinatumomab."""
    return _named_choice_option("--origin", "origin", ORIGINS, "Time zero of the time-to-event analyses.")(command)


def non_responder_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--non-responder`` (parameter `non_responder`), default no_cr."""
    return _named_choice_option(
        "--non-responder", "non_responder", NON_RESPONDER_DEFINITIONS, "Non-responder definition."
    )(command)


def path_option(
    *names: str, help: str, metavar: str | None = None, file_only: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """An option (flag and parameter `names`) whose value is a `Path`; `file_only` refuses a folder."""
    return click.option(*names, type=click.Path(dir_okay=not file_only, path_type=Path), metavar=metavar, help=help)


@contextlib.contextmanager
def progress(description: str, *, stages: Sequence[str] = ()) -> Iterator[Callable[[str, int, int], None]]:
    """A callback ``update(stage, done, total)`` that draws one line on stderr, only on a terminal.

    A stage with counts (total > 1) shows ``done/total`` and a bar that moves; a stage without counts
    shows its name and the elapsed time, never a bar at 0%. `stages` (optional) numbers the stages
    ("report 2/5: figures").
    """
    from tqdm import tqdm

    enabled = sys.stderr.isatty()
    bar = tqdm(
        total=None,
        desc=description,
        file=sys.stderr,
        leave=False,
        disable=not enabled,
        dynamic_ncols=True,
        bar_format="{desc} {elapsed}",
    )
    counted = "{desc} {bar} {n_fmt}/{total_fmt} {elapsed}<{remaining}"
    uncounted = "{desc} {elapsed}"

    def update(stage: str, done: int, total: int) -> None:
        if not enabled:
            return
        label = f"{description}: {stage}"
        if stage in stages:
            label = f"{description} {stages.index(stage) + 1}/{len(stages)}: {stage}"
        if total > 1:
            bar.bar_format = counted
            bar.total = total
            bar.n = min(done, total)
        else:
            bar.bar_format = uncounted
            bar.total = None
            bar.n = 0
        bar.set_description_str(label, refresh=False)
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()
