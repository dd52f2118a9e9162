"""`blinareg serve` (the web registry) and `blinareg user ...` (its accounts); see docs/web.md."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from blinareg.cli._options import database_option
from blinareg.errors import UserError

if TYPE_CHECKING:
    from blinareg.store import Store
    from blinareg.store.accounts import Accounts

ADMIN_PASSWORD_ENV = "BLINAREG_ADMIN_PASSWORD"
ROLE_NAMES = ("administrator", "data_manager", "investigator", "statistician", "auditor", "monitor")
CLI_ACTOR = "cli"


def _store(database: str | None) -> Store:
    from blinareg.store import Store

    store = Store.open(database)
    store.require_initialized()
    return store


def _password(prompt: str, env: str | None = None) -> str:
    if env and os.environ.get(env):
        return os.environ[env]
    return str(click.prompt(prompt, hide_input=True, confirmation_prompt=True))


def _hash(password: str) -> str:
    from blinareg.web.security import hash_password

    return hash_password(password)


def _centers(value: str | None) -> list[str]:
    return [c.strip() for c in (value or "").split(",") if c.strip()]


def create_admin(database: str | None, name: str) -> None:
    """The first administrator (`blinareg init --admin NAME`); the password from the prompt or the environment."""
    password_hash = _hash(_password(f"Password for {name}", ADMIN_PASSWORD_ENV))
    with _store(database) as store:
        user = store.accounts.add(name, password_hash, "administrator", actor=CLI_ACTOR)
    click.echo(f"administrator {user.username} created")


@click.command("serve")
@database_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes (more use more cores: saves validate in Python).",
)
def serve_command(database: str | None, host: str, port: int, workers: int) -> None:
    """Run the web registry (pages and JSON API) on the registry database."""
    import uvicorn

    with _store(database) as store:
        url = store.settings.url.render_as_string(hide_password=False)
        shown = store.url
    # The workers build the app from the environment (uvicorn imports it by name in each process).
    os.environ["BLINAREG_DATABASE_URL"] = url
    click.echo(f"blinareg serving {shown} on http://{host}:{port}/ (Ctrl+C stops)")
    # Access logs are off: paths hold patient ids, which never go to logs.
    uvicorn.run(
        "blinareg.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        proxy_headers=True,
    )


@click.group("user")
def user_group() -> None:
    """Manage the web registry's users: add, passwd, role, centers, disable, enable, unlock, list."""


@user_group.command("add")
@database_option
@click.argument("name")
@click.option("--role", type=click.Choice(ROLE_NAMES), required=True, help="What the user may do (docs/web.md).")
@click.option("--centers", metavar="ID,ID", help="Centers whose patients the user may see (comma-separated).")
def user_add(database: str | None, name: str, role: str, centers: str | None) -> None:
    """Add a user; the password is prompted (or read from $BLINAREG_USER_PASSWORD)."""
    password_hash = _hash(_password(f"Password for {name}", "BLINAREG_USER_PASSWORD"))
    with _store(database) as store:
        user = store.accounts.add(name, password_hash, role, _centers(centers), actor=CLI_ACTOR)
    click.echo(f"user {user.username} added ({user.role}; centers: {', '.join(user.centers) or 'none'})")


@user_group.command("passwd")
@database_option
@click.argument("name")
def user_passwd(database: str | None, name: str) -> None:
    """Set a user's password (prompted, or $BLINAREG_USER_PASSWORD); ends their sessions."""
    password_hash = _hash(_password(f"New password for {name}", "BLINAREG_USER_PASSWORD"))
    with _store(database) as store:
        store.accounts.set_password(name, password_hash, actor=CLI_ACTOR)
    click.echo(f"password of {name} changed")


@user_group.command("role")
@database_option
@click.argument("name")
@click.argument("role", type=click.Choice(ROLE_NAMES))
def user_role(database: str | None, name: str, role: str) -> None:
    """Change a user's role."""
    with _store(database) as store:
        store.accounts.set_role(name, role, actor=CLI_ACTOR)
    click.echo(f"{name} is now {role}")


@user_group.command("centers")
@database_option
@click.argument("name")
@click.argument("centers", metavar="ID,ID")
def user_centers(database: str | None, name: str, centers: str) -> None:
    """Set the centers whose patients a user may see (replaces the previous list; '' for none)."""
    with _store(database) as store:
        user = store.accounts.set_centers(name, _centers(centers), actor=CLI_ACTOR)
    click.echo(f"{name}: centers {', '.join(user.centers) or 'none'}")


def _account_switch(command_name: str, help_text: str, done: str, switch: Callable[[Accounts, str], object]) -> None:
    """Register `blinareg user COMMAND NAME`: apply `switch` to the account, then say "NAME done"."""

    @user_group.command(command_name, help=help_text)
    @database_option
    @click.argument("name")
    def command(database: str | None, name: str) -> None:
        with _store(database) as store:
            switch(store.accounts, name)
        click.echo(f"{name} {done}")


_account_switch(
    "disable",
    "Disable a user (they can no longer sign in; their sessions end).",
    "disabled",
    lambda accounts, name: accounts.set_disabled(name, True, actor=CLI_ACTOR),
)
_account_switch(
    "enable",
    "Enable a disabled user again.",
    "enabled",
    lambda accounts, name: accounts.set_disabled(name, False, actor=CLI_ACTOR),
)
_account_switch(
    "unlock",
    "Unlock a user locked out after too many failed sign-ins.",
    "unlocked",
    lambda accounts, name: accounts.unlock(name, actor=CLI_ACTOR),
)


@user_group.command("list")
@database_option
def user_list(database: str | None) -> None:
    """List the users: name, role, centers, state."""
    with _store(database) as store:
        users = store.accounts.list_users()
    if not users:
        raise UserError("no users yet; create the first administrator with `blinareg init --admin NAME`")
    for user in users:
        state = "disabled" if user.disabled else "locked" if user.locked else "active"
        click.echo(f"{user.username}\t{user.role}\t{','.join(user.centers) or '-'}\t{state}")
