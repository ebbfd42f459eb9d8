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
             path: Path | None = None, by: str | None = None) -> User:
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
        rec.update({k: old[k] for k in ("oidc_issuer", "oidc_subject")
                    if k in old and (old.get("email") or None) == rec["email"]})
        data["users"][username] = rec
        _write_raw(path, data)
    _audit("user_changed" if old else "user_added", by, username, path, role=role, urns=",".join(urns) or None,
           previous_role=old.get("role") if old and old.get("role") != role else None,
           password_set=password is not None)
    return _to_user(username, rec)


def _audit(event: str, by: str | None, target: str, path: Path | None = None, **details) -> None:
    from pipelines.lib.privacy import audit
    audit.record(event, user=by or os.environ.get("USER"), target=target,
                 data_dir=_audit_dir(path), **details)


def _audit_dir(path: Path | None) -> Path | None:
    """The data directory the user store belongs to (<data dir>/auth/users.json)."""
    return Path(path).parent.parent if path is not None else None


def set_password(username: str, password: str, path: Path | None = None,
                 by: str | None = None) -> None:
    path = path or users_file()
    check_password_strength(password)
    with _lock:
        data = _read_raw(path)
        if username not in data["users"]:
            raise UserStoreError(f"no user {username!r}")
        data["users"][username]["password_hash"] = _hasher.hash(password)
        _write_raw(path, data)
    _audit("password_changed", by, username, path)


def remove_user(username: str, path: Path | None = None, by: str | None = None) -> None:
    path = path or users_file()
    with _lock:
        data = _read_raw(path)
        if username not in data["users"]:
            raise UserStoreError(f"no user {username!r}")
        del data["users"][username]
        _write_raw(path, data)
    _audit("user_removed", by, username, path)


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


# ---------------------------------------------------------------- sign-in protection
# Failures are counted per user name on the server (<data dir>/auth/signin_state.json, 0600),
# not in the browser session, so a fresh session gets no fresh attempts. After `max_failures`
# consecutive failures the name is locked; each further lockout doubles (back-off), up to a day.
# Unknown names are counted the same way, so the answer never reveals whether a name exists.

@dataclass(frozen=True)
class SignInPolicy:
    max_failures: int = 5
    lockout_minutes: float = 15
    max_lockout_hours: float = 24
    idle_minutes: float = 30
    absolute_hours: float = 12


def signin_policy() -> SignInPolicy:
    try:
        from pipelines.config import trust_config
        s = trust_config().get("sign_in") or {}
    except Exception:  # noqa: BLE001 - no config: defaults
        s = {}
    d = SignInPolicy()
    return SignInPolicy(**{k: type(getattr(d, k))(s.get(k, getattr(d, k))) for k in asdict(d)})


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    status: str                 # ok | bad | locked
    retry_after: float = 0.0    # seconds until the lock ends (locked)


def state_file(path: Path | None = None) -> Path:
    return (path or users_file()).with_name("signin_state.json")


def _with_state(path: Path | None, fn):
    """Run fn(state) under an exclusive file lock; write the state back."""
    import fcntl
    sf = state_file(path)
    sf.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(sf, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            text = fh.read()
            try:
                state = json.loads(text) if text.strip() else {}
            except ValueError:
                state = {}
            out = fn(state)
            if len(state) > 10000:  # bound the file: forget the oldest names
                for k in sorted(state, key=lambda k: state[k].get("last", 0))[: len(state) - 10000]:
                    del state[k]
            fh.seek(0)
            fh.truncate()
            json.dump(state, fh, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
            return out
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _key(username: str) -> str:
    return (username or "").strip().lower()[:64]


def lock_status(username: str, path: Path | None = None, now: float | None = None) -> dict:
    import time
    now = time.time() if now is None else now
    sf = state_file(path)
    try:
        rec = json.loads(sf.read_text(encoding="utf-8")).get(_key(username), {})
    except (OSError, ValueError):
        rec = {}
    until = float(rec.get("locked_until", 0))
    return {"failures": int(rec.get("failures", 0)), "locked": until > now,
            "retry_after": max(0.0, until - now), "lockouts": int(rec.get("lockouts", 0))}


def sign_in(username: str, password: str, *, path: Path | None = None, now: float | None = None,
            policy: SignInPolicy | None = None, source: str = "password") -> SignInResult:
    """Check a password with server-side lockout and back-off; every attempt is audited."""
    import time

    from pipelines.lib.privacy import audit
    pol = policy or signin_policy()
    now = time.time() if now is None else now
    name = (username or "").strip()
    k = _key(name)
    dd = _audit_dir(path)
    status = lock_status(name, path, now)
    if status["locked"]:
        _with_state(path, lambda s: s.setdefault(k, {}).update(last=now))
        audit.record("sign_in", user=name or None, outcome="locked", method=source,
                     retry_after_s=round(status["retry_after"]), data_dir=dd)
        return SignInResult(None, "locked", status["retry_after"])
    user = authenticate(name, password, path)
    if user is not None:
        _with_state(path, lambda s: s.pop(k, None))
        audit.record("sign_in", user=user.username, outcome="success", method=source, role=user.role,
                     data_dir=dd)
        return SignInResult(user, "ok")

    def fail(state):
        rec = state.setdefault(k, {"failures": 0, "lockouts": 0})
        rec["failures"] = int(rec.get("failures", 0)) + 1
        rec["last"] = now
        if rec["failures"] >= pol.max_failures:
            rec["lockouts"] = int(rec.get("lockouts", 0)) + 1
            minutes = min(pol.lockout_minutes * 2 ** (rec["lockouts"] - 1), pol.max_lockout_hours * 60)
            rec["locked_until"] = now + minutes * 60
            rec["failures"] = 0
            return rec["locked_until"] - now
        return 0.0
    locked_for = _with_state(path, fail)
    audit.record("sign_in", user=name or None, outcome="failure", method=source,
                 locked_for_s=round(locked_for) if locked_for else None, data_dir=dd)
    if locked_for:
        return SignInResult(None, "locked", locked_for)
    return SignInResult(None, "bad")


def unlock(username: str, path: Path | None = None, by: str | None = None) -> None:
    from pipelines.lib.privacy import audit
    _with_state(path, lambda s: s.pop(_key(username), None))
    audit.record("user_unlocked", user=by, target=username, data_dir=_audit_dir(path))


# ---------------------------------------------------------------- single sign-on

def _truthy(v) -> bool:
    return v is True or (isinstance(v, str) and v.strip().lower() == "true")


def oidc_user(claims: dict, path: Path | None = None) -> tuple[User | None, str]:
    """(user, reason) for an OIDC identity. Refused unless the provider says the email is
    verified. A user is bound to the issuer and subject at their first sign-in; afterwards only
    that identity signs in as them, whatever email it later claims."""
    from pipelines.lib.privacy import audit
    path = path or users_file()
    iss, sub = str(claims.get("iss") or "").strip(), str(claims.get("sub") or "").strip()
    email = str(claims.get("email") or "").strip().lower()
    if not iss or not sub:
        reason = "the identity provider did not send an issuer and subject"
    elif not _truthy(claims.get("email_verified")):
        reason = "the identity provider has not verified this email address"
    else:
        reason = ""
    if reason:
        audit.record("sign_in", user=email or None, outcome="refused", method="oidc", data_dir=_audit_dir(path), reason=reason)
        return None, reason
    with _lock:
        data = _read_raw(path)
        bound = [n for n, r in data["users"].items()
                 if r.get("oidc_issuer") == iss and r.get("oidc_subject") == sub]
        if bound:
            name = bound[0]
        else:
            cand = [n for n, r in data["users"].items() if email and (r.get("email") or "").lower() == email]
            if not cand:
                audit.record("sign_in", user=email or None, outcome="refused", method="oidc", data_dir=_audit_dir(path),
                             reason="no user with this email")
                return None, "no user has this email address"
            name = cand[0]
            rec = data["users"][name]
            if rec.get("oidc_subject"):
                audit.record("sign_in", user=name, outcome="refused", method="oidc", data_dir=_audit_dir(path),
                             reason="account bound to another identity")
                return None, "this account is bound to a different sign-in identity"
            rec["oidc_issuer"], rec["oidc_subject"] = iss, sub
            rec["updated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            _write_raw(path, data)
            audit.record("user_changed", user=name, outcome="oidc_bound", target=name, issuer=iss,
                         data_dir=_audit_dir(path))
    user = get_user(name, path)
    if user is None:
        return None, "this account has no valid role"
    audit.record("sign_in", user=user.username, outcome="success", method="oidc", data_dir=_audit_dir(path), role=user.role)
    return user, ""
