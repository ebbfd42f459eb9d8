"""Dashboard user store: <data dir>/auth/users.json, argon2id salted hashes.

Pure Python (no Streamlit), shared by the app and `destinations users`.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

ROLES = ("trust_admin", "director", "academy")
ROLE_LABELS = {"trust_admin": "Trust data team (admin)", "director": "Director / trustee",
               "academy": "Academy"}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")
_URN_RE = re.compile(r"^\d{6}$")
_hasher = PasswordHasher()  # argon2id, random 16-byte salt per hash
# Verified when the user does not exist, so timing does not reveal names.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
_lock = threading.Lock()


class UserStoreError(ValueError):
    """A user-store change was refused; the message says why."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    urns: tuple[str, ...] = ()
    email: str | None = None
    display_name: str | None = None
    password_hash: str | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return self.display_name or self.username


def users_file(data_dir: Path | None = None) -> Path:
    """DESTINATIONS_USERS_FILE, else <data dir>/auth/users.json."""
    env = os.environ.get("DESTINATIONS_USERS_FILE")
    if env:
        return Path(env).expanduser().resolve()
    if data_dir is None:
        from pipelines.config import data_dir as _dd
        data_dir = _dd()
    return Path(data_dir) / "auth" / "users.json"


def _read_raw(path: Path) -> dict:
    if not path.exists():
        return {"version": 1, "users": {}}
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    data.setdefault("users", {})
    return data


def _write_raw(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".users.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _to_user(name: str, rec: dict) -> User:
    return User(username=name, role=rec.get("role", ""), urns=tuple(rec.get("urns") or ()),
                email=rec.get("email"), display_name=rec.get("display_name"),
                password_hash=rec.get("password_hash"))


def load_users(path: Path | None = None) -> dict[str, User]:
    path = path or users_file()
    return {n: _to_user(n, r) for n, r in _read_raw(path)["users"].items()}


def get_user(username: str, path: Path | None = None) -> User | None:
    u = load_users(path).get(username)
    if u is None or u.role not in ROLES or (u.role == "academy" and not u.urns):
        return None  # malformed records grant nothing
    return u


def find_by_email(email: str, path: Path | None = None) -> User | None:
    email = (email or "").strip().lower()
    if not email:
        return None
    for u in load_users(path).values():
        if u.email and u.email.strip().lower() == email:
            return get_user(u.username, path)
    return None


def validate(username: str, role: str, urns: list[str] | tuple[str, ...]) -> None:
    if not _NAME_RE.match(username or ""):
        raise UserStoreError("user names are 2-64 characters: letters, digits, _ . @ -")
    if role not in ROLES:
        raise UserStoreError(f"role must be one of {', '.join(ROLES)}")
    bad = [u for u in urns if not _URN_RE.match(u)]
    if bad:
        raise UserStoreError(f"URNs are 6 digits: {', '.join(bad)}")
    if role == "academy" and not urns:
        raise UserStoreError("an academy user needs at least one --urn")
    if role != "academy" and urns:
        raise UserStoreError(f"{role} users see every academy; do not give --urn")


def check_password_strength(password: str) -> None:
    if len(password or "") < 10:
        raise UserStoreError("passwords are at least 10 characters")


def add_user(username: str, role: str, urns: list[str] | tuple[str, ...] = (), *,
             password: str | None = None, email: str | None = None,
             display_name: str | None = None, replace: bool = False,
             path: Path | None = None) -> User:
    """Add (or with replace=True update) a user. No password = single sign-on only."""
    path = path or users_file()
    urns = sorted(set(urns))
    validate(username, role, urns)
    if password is not None:
        check_password_strength(password)
    if email is not None and "@" not in email:
        raise UserStoreError("email must be an address, e.g. name@trust.org.uk")
    if password is None and not email:
        raise UserStoreError("give a password (--password-stdin) or an --email for single sign-on")
    with _lock:
        data = _read_raw(path)
        if username in data["users"] and not replace:
            raise UserStoreError(f"user {username!r} already exists (use --replace to change it)")
        if email:
            for other, rec in data["users"].items():
                if other != username and (rec.get("email") or "").lower() == email.lower():
                    raise UserStoreError(f"email {email} already belongs to {other!r}")
        old = data["users"].get(username, {})
        rec = {"role": role, "urns": urns, "email": email.lower() if email else None,
               "display_name": display_name,
               "password_hash": _hasher.hash(password) if password is not None
               else (old.get("password_hash") if replace else None),
               "created": old.get("created") or datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "updated": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        data["users"][username] = rec
        _write_raw(path, data)
    return _to_user(username, rec)


def set_password(username: str, password: str, path: Path | None = None) -> None:
    path = path or users_file()
    check_password_strength(password)
    with _lock:
        data = _read_raw(path)
        if username not in data["users"]:
            raise UserStoreError(f"no user {username!r}")
        data["users"][username]["password_hash"] = _hasher.hash(password)
        _write_raw(path, data)


def remove_user(username: str, path: Path | None = None) -> None:
    path = path or users_file()
    with _lock:
        data = _read_raw(path)
        if username not in data["users"]:
            raise UserStoreError(f"no user {username!r}")
        del data["users"][username]
        _write_raw(path, data)


def authenticate(username: str, password: str, path: Path | None = None) -> User | None:
    """The user if the password matches, else None (constant-ish time)."""
    user = get_user((username or "").strip(), path)
    stored = user.password_hash if user else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return user if stored else None


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def public_view(u: User) -> dict:
    """A user record without its hash (for listing)."""
    d = asdict(u)
    d.pop("password_hash")
    d["urns"] = list(u.urns)
    d["password_login"] = bool(u.password_hash)
    return d
