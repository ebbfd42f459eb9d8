"""Send notifications through SMTP, or write them to the outbox folder; never twice per event.

SMTP settings come from the environment (a trust's Microsoft 365 relay: port 587 + STARTTLS +
a user and password):
  DESTINATIONS_SMTP_HOST      no host -> messages go to <data dir>/outbox/*.eml, nothing is sent
  DESTINATIONS_SMTP_PORT      default 587 with STARTTLS, 465 with SSL, else 25
  DESTINATIONS_SMTP_STARTTLS  true|false (default true unless port 25 or SSL)
  DESTINATIONS_SMTP_SSL       true for implicit TLS (port 465)
  DESTINATIONS_SMTP_USER / DESTINATIONS_SMTP_PASSWORD   login, when the relay needs one
  DESTINATIONS_SMTP_FROM      the From address (default destinations@localhost)
  DESTINATIONS_SMTP_CAFILE    extra CA bundle to trust (a private relay's certificate)
The sent log (<data dir>/outbox/sent_log.jsonl) records every event key delivered; a key in
it is never delivered again.
"""
from __future__ import annotations

import json
import os
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from pipelines.lib.notify.reminders import Notification

TRUE = {"1", "true", "yes", "y", "on"}


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None
    port: int = 587
    starttls: bool = True
    ssl: bool = False
    user: str | None = None
    password: str | None = None
    sender: str = "destinations@localhost"
    cafile: str | None = None
    timeout: float = 30.0

    @classmethod
    def from_env(cls, env: dict | None = None) -> "SmtpSettings":
        e = os.environ if env is None else env
        host = (e.get("DESTINATIONS_SMTP_HOST") or "").strip() or None
        use_ssl = (e.get("DESTINATIONS_SMTP_SSL") or "").strip().lower() in TRUE
        port_text = (e.get("DESTINATIONS_SMTP_PORT") or "").strip()
        try:
            port = int(port_text) if port_text else (465 if use_ssl else 587)
        except ValueError:
            raise ValueError(f"DESTINATIONS_SMTP_PORT {port_text!r} is not a port number (e.g. 587)") from None
        tls_text = (e.get("DESTINATIONS_SMTP_STARTTLS") or "").strip().lower()
        starttls = (tls_text in TRUE) if tls_text else (not use_ssl and port != 25)
        return cls(host=host, port=port, starttls=starttls and not use_ssl, ssl=use_ssl,
                   user=(e.get("DESTINATIONS_SMTP_USER") or "").strip() or None,
                   password=e.get("DESTINATIONS_SMTP_PASSWORD") or None,
                   sender=(e.get("DESTINATIONS_SMTP_FROM") or "").strip() or "destinations@localhost",
                   cafile=(e.get("DESTINATIONS_SMTP_CAFILE") or "").strip() or None)

    def describe(self) -> str:
        if not self.host:
            return "outbox folder (no DESTINATIONS_SMTP_HOST)"
        how = "SSL" if self.ssl else ("STARTTLS" if self.starttls else "plain")
        return f"SMTP {self.host}:{self.port} ({how}{', login ' + self.user if self.user else ''})"


class SentLog:
    """JSON lines, one per delivered event key."""

    def __init__(self, path: Path):
        self.path = path
        self._keys: set[str] = set()
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    self._keys.add(json.loads(line)["key"])
                except (ValueError, KeyError, TypeError):
                    continue

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def record(self, keys: list[str], **info) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self.path.open("a", encoding="utf-8") as fh:
            for k in keys:
                fh.write(json.dumps({"key": k, "at": at, **info}) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self._keys |= set(keys)


@dataclass
class Delivery:
    via: str
    sent: list[Notification] = field(default_factory=list)
    skipped: list[Notification] = field(default_factory=list)     # every key already delivered
    no_address: list[Notification] = field(default_factory=list)
    failed: list[tuple[Notification, str]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def build_message(n: Notification, sender: str, reply_to: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = n.to
    msg["Subject"] = n.subject
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = make_msgid(domain=sender.split("@")[-1] if "@" in sender else None)
    msg["Auto-Submitted"] = "auto-generated"
    if reply_to and n.kind == "academy":
        msg["Reply-To"] = reply_to
    msg["X-Destinations-Event"] = ", ".join(n.keys)
    msg.set_content(n.body)
    return msg


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:120]


def _connect(s: SmtpSettings) -> smtplib.SMTP:
    ctx = ssl.create_default_context(cafile=s.cafile) if (s.ssl or s.starttls) else None
    if s.ssl:
        conn: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=ctx)
    else:
        conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
    conn.ehlo()
    if s.starttls:
        conn.starttls(context=ctx)
        conn.ehlo()
    if s.user:
        conn.login(s.user, s.password or "")
    return conn


def deliver(items: list[Notification], settings: SmtpSettings, outbox: Path, sent_log: SentLog,
            reply_to: str | None = None) -> Delivery:
    """Send (or write) every item with at least one undelivered key; record the keys as delivered."""
    out = Delivery(via=settings.describe())
    todo = []
    for n in items:
        if n.to is None:
            out.no_address.append(n)
        elif all(k in sent_log for k in n.keys):
            out.skipped.append(n)
        else:
            todo.append(n)
    if not todo:
        return out
    if not settings.host:
        outbox.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        for n in todo:
            msg = build_message(n, settings.sender, reply_to)
            name = _slug(f"{stamp}-{n.kind}-{n.academy_urn or 'trust'}-{n.leaving_year or ''}-{n.round or ''}"
                         f"-{'+'.join(n.events) or 'digest'}") + ".eml"
            path = outbox / name
            tmp = path.with_name("." + name + ".tmp")
            tmp.write_bytes(bytes(msg))
            tmp.replace(path)
            sent_log.record(n.keys, to=n.to, subject=n.subject, via="outbox", file=name)
            out.sent.append(n)
            out.files.append(path)
        return out
    try:
        conn = _connect(settings)
    except (OSError, smtplib.SMTPException) as exc:
        out.failed = [(n, f"cannot connect to {settings.describe()}: {exc}") for n in todo]
        return out
    try:
        for n in todo:
            try:
                conn.send_message(build_message(n, settings.sender, reply_to))
            except smtplib.SMTPException as exc:
                out.failed.append((n, str(exc)))
                continue
            sent_log.record(n.keys, to=n.to, subject=n.subject, via="smtp")
            out.sent.append(n)
    finally:
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return out
