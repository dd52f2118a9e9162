"""Web accounts in the registry database: users and their centers, sessions, API tokens, lockout.

Passwords and tokens arrive here already hashed (argon2id for passwords, SHA-256 for the random session
and API tokens; `blinareg.web.security` does the hashing): the database never holds a secret in clear.
Every account change writes an `account` audit row in its own transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from blinareg.errors import UserError
from blinareg.store import _io
from blinareg.store.schema import RECORD_TABLES, ROLES, api_tokens, sessions, user_centers, users
from blinareg.store.store import Store, write_audit


@dataclass(frozen=True)
class User:
    user_id: int
    username: str
    role: str
    disabled: bool
    locked: bool
    centers: tuple[str, ...]


@dataclass(frozen=True)
class SessionRow:
    user: User
    csrf_token: str
    created_at: dt.datetime
    last_seen_at: dt.datetime


@dataclass(frozen=True)
class ApiToken:
    token_id: int
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """Times as stored come back naive on SQLite; they are UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")


class Accounts:
    """The account tables of one Store (`store.accounts`)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # -- users --

    def _users(self, connection: sa.Connection, where: sa.ColumnElement[bool] | None = None) -> list[User]:
        statement = sa.select(users).order_by(users.c.username)
        if where is not None:
            statement = statement.where(where)
        rows = connection.execute(statement).mappings().all()
        ids = [row["user_id"] for row in rows]
        centers: dict[int, list[str]] = {}
        if ids:
            for user_id, center_id in connection.execute(
                sa.select(user_centers.c.user_id, user_centers.c.center_id)
                .where(user_centers.c.user_id.in_(ids))
                .order_by(user_centers.c.center_id)
            ):
                centers.setdefault(user_id, []).append(center_id)
        return [
            User(
                user_id=row["user_id"],
                username=row["username"],
                role=row["role"],
                disabled=bool(row["disabled"]),
                locked=row["locked_at"] is not None,
                centers=tuple(centers.get(row["user_id"], ())),
            )
            for row in rows
        ]

    def _one(self, connection: sa.Connection, username: str) -> User:
        found = self._users(connection, users.c.username == username)
        if not found:
            raise UserError(f"no user {username!r}")
        return found[0]

    def list_users(self) -> list[User]:
        with self._store._transaction() as connection:
            return self._users(connection)

    def get(self, username: str) -> User | None:
        with self._store._transaction() as connection:
            found = self._users(connection, users.c.username == username)
        return found[0] if found else None

    def get_by_id(self, user_id: int) -> User | None:
        with self._store._transaction() as connection:
            found = self._users(connection, users.c.user_id == user_id)
        return found[0] if found else None

    def password_hash(self, username: str) -> str | None:
        with self._store._transaction() as connection:
            return connection.execute(
                sa.select(users.c.password_hash).where(users.c.username == username)
            ).scalar_one_or_none()

    def _check_centers(self, connection: sa.Connection, centers: Iterable[str]) -> list[str]:
        wanted = sorted(set(centers))
        center = RECORD_TABLES["center"]
        known = set(connection.execute(sa.select(center.c.center_id).where(center.c.center_id.in_(wanted))).scalars())
        unknown = [c for c in wanted if c not in known]
        if unknown:
            raise UserError(f"no center {', '.join(unknown)} in the registry (import or create it first)")
        return wanted

    def add(self, username: str, password_hash: str, role: str, centers: Sequence[str] = (), *, actor: str) -> User:
        _check_role(role)
        if not username or len(username) > 100 or username != username.strip():
            raise UserError(f"user name {username!r}: 1 to 100 characters, no leading or trailing spaces")
        with self._store._transaction(write=True) as connection:
            if connection.execute(sa.select(users.c.user_id).where(users.c.username == username)).first():
                raise UserError(f"user {username!r} already exists")
            wanted = self._check_centers(connection, centers)
            user_id = connection.execute(
                users.insert().values(
                    username=username, password_hash=password_hash, role=role, created_at=_io.utc_now()
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            if wanted:
                connection.execute(user_centers.insert(), [{"user_id": user_id, "center_id": c} for c in wanted])
            self._audit(connection, actor, username, None, {"role": role, "centers": wanted})
            return self._one(connection, username)

    def _change(self, username: str, values: dict[str, object], *, actor: str, shown: dict[str, object]) -> User:
        with self._store._transaction(write=True) as connection:
            before = self._one(connection, username)
            connection.execute(sa.update(users).where(users.c.username == username).values(values))
            self._audit(connection, actor, username, {k: getattr(before, k, None) for k in shown}, shown)
            return self._one(connection, username)

    def set_password(self, username: str, password_hash: str, *, actor: str) -> User:
        # A new password ends the user's sessions elsewhere.
        user = self._change(username, {"password_hash": password_hash}, actor=actor, shown={"password": "changed"})
        self.end_sessions(user.user_id)
        return user

    def set_role(self, username: str, role: str, *, actor: str) -> User:
        _check_role(role)
        return self._change(username, {"role": role}, actor=actor, shown={"role": role})

    def set_disabled(self, username: str, disabled: bool, *, actor: str) -> User:
        user = self._change(username, {"disabled": disabled}, actor=actor, shown={"disabled": disabled})
        if disabled:
            self.end_sessions(user.user_id)
        return user

    def unlock(self, username: str, *, actor: str) -> User:
        with self._store._transaction(write=True) as connection:
            self._one(connection, username)
            connection.execute(
                sa.update(users)
                .where(users.c.username == username)
                .values(locked_at=None, failed_logins=0, failed_since=None)
            )
            self._audit(connection, actor, username, None, {"locked": False}, action="unlock")
            return self._one(connection, username)

    def set_centers(self, username: str, centers: Sequence[str], *, actor: str) -> User:
        with self._store._transaction(write=True) as connection:
            before = self._one(connection, username)
            wanted = self._check_centers(connection, centers)
            connection.execute(sa.delete(user_centers).where(user_centers.c.user_id == before.user_id))
            if wanted:
                connection.execute(user_centers.insert(), [{"user_id": before.user_id, "center_id": c} for c in wanted])
            self._audit(connection, actor, username, {"centers": list(before.centers)}, {"centers": wanted})
            return self._one(connection, username)

    def _audit(
        self,
        connection: sa.Connection,
        actor: str,
        username: str,
        before: object,
        after: object,
        *,
        action: str = "account",
    ) -> None:
        write_audit(
            connection,
            actor=actor,
            action=action,
            record_type="user",
            patient_id=None,
            key={"username": username},
            before=before,
            after=after,
            source="web",
        )

    # -- login failures and lockout --

    def record_failure(self, username: str, *, limit: int, window: dt.timedelta) -> bool:
        """Count a failed login (audited); True when this failure locks the account."""
        now = _io.utc_now()
        with self._store._transaction(write=True) as connection:
            row = connection.execute(
                sa.select(users.c.failed_logins, users.c.failed_since, users.c.locked_at).where(
                    users.c.username == username
                )
            ).first()
            self._audit(connection, username, username, None, None, action="login_failed")
            if row is None or row.locked_at is not None:
                return False
            since = _utc(row.failed_since)
            count = row.failed_logins + 1 if since is not None and now - since < window else 1
            since = since if count > 1 else now
            locks = count >= limit
            connection.execute(
                sa.update(users)
                .where(users.c.username == username)
                .values(failed_logins=count, failed_since=since, locked_at=now if locks else None)
            )
            if locks:
                self._audit(connection, username, username, None, {"failed_logins": count}, action="lockout")
            return locks

    # -- sessions --

    def create_session(self, user: User, token_hash: str, csrf_token: str) -> None:
        now = _io.utc_now()
        with self._store._transaction(write=True) as connection:
            connection.execute(
                sa.update(users).where(users.c.user_id == user.user_id).values(failed_logins=0, failed_since=None)
            )
            connection.execute(
                sessions.insert().values(
                    token_hash=token_hash, user_id=user.user_id, csrf_token=csrf_token, created_at=now, last_seen_at=now
                )
            )
            self._audit(connection, user.username, user.username, None, None, action="login")

    def session(self, token_hash: str) -> SessionRow | None:
        with self._store._transaction() as connection:
            row = connection.execute(sa.select(sessions).where(sessions.c.token_hash == token_hash)).mappings().first()
            if row is None:
                return None
            found = self._users(connection, users.c.user_id == row["user_id"])
        if not found:
            return None
        created, seen = _utc(row["created_at"]), _utc(row["last_seen_at"])
        assert created is not None and seen is not None
        return SessionRow(found[0], row["csrf_token"], created, seen)

    def touch_session(self, token_hash: str) -> None:
        with self._store._transaction(write=True, serialize=False) as connection:
            connection.execute(
                sa.update(sessions).where(sessions.c.token_hash == token_hash).values(last_seen_at=_io.utc_now())
            )

    def end_session(self, token_hash: str) -> None:
        with self._store._transaction(write=True, serialize=False) as connection:
            connection.execute(sa.delete(sessions).where(sessions.c.token_hash == token_hash))

    def end_sessions(self, user_id: int) -> None:
        with self._store._transaction(write=True, serialize=False) as connection:
            connection.execute(sa.delete(sessions).where(sessions.c.user_id == user_id))

    # -- API tokens --

    def add_token(self, user: User, name: str, token_hash: str) -> int:
        with self._store._transaction(write=True) as connection:
            token_id = connection.execute(
                api_tokens.insert().values(
                    user_id=user.user_id, name=name, token_hash=token_hash, created_at=_io.utc_now()
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            self._audit(connection, user.username, user.username, None, {"api_token": name})
            return int(token_id)

    def token_user(self, token_hash: str) -> User | None:
        """The user of a live (not revoked) token; records its use (at most once a minute: reads stay reads)."""
        now = _io.utc_now()
        with self._store._transaction() as connection:
            row = connection.execute(
                sa.select(api_tokens.c.user_id, api_tokens.c.last_used_at).where(
                    api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None)
                )
            ).first()
            if row is None:
                return None
            found = self._users(connection, users.c.user_id == row.user_id)
        last = _utc(row.last_used_at)
        if last is None or now - last > dt.timedelta(minutes=1):
            with self._store._transaction(write=True, serialize=False) as connection:
                connection.execute(
                    sa.update(api_tokens).where(api_tokens.c.token_hash == token_hash).values(last_used_at=now)
                )
        return found[0] if found else None

    def tokens(self, user: User) -> list[ApiToken]:
        with self._store._transaction() as connection:
            rows = connection.execute(
                sa.select(api_tokens).where(api_tokens.c.user_id == user.user_id).order_by(api_tokens.c.token_id)
            ).mappings()
            return [
                ApiToken(
                    row["token_id"],
                    row["name"],
                    _utc(row["created_at"]) or _io.utc_now(),
                    _utc(row["last_used_at"]),
                    _utc(row["revoked_at"]),
                )
                for row in rows
            ]

    def revoke_token(self, user: User, token_id: int) -> bool:
        with self._store._transaction(write=True) as connection:
            done = connection.execute(
                sa.update(api_tokens)
                .where(
                    api_tokens.c.token_id == token_id,
                    api_tokens.c.user_id == user.user_id,
                    api_tokens.c.revoked_at.is_(None),
                )
                .values(revoked_at=_io.utc_now())
            ).rowcount
            if done:
                self._audit(connection, user.username, user.username, None, {"api_token_revoked": token_id})
            return bool(done)
