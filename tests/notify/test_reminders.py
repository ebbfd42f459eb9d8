"""Return reminders by email against a REAL SMTP server (aiosmtpd on 127.0.0.1): content,
STARTTLS + login, the outbox folder, and never sending twice for the same event."""
from __future__ import annotations

import datetime as dt
import email
import socket
import ssl
from email import policy
from pathlib import Path

import polars as pl
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from pipelines.config import paths
from pipelines.lib.notify import SentLog, SmtpSettings, deliver, notify_returns, plan_notifications
from pipelines.lib.notify.reminders import ReminderSettings, events_for
from tests.notify.served import served_return_status

TODAY = dt.date(2026, 12, 8)
SETTINGS = ReminderSettings(days_before=7, overdue_days=60, overdue_every_days=7,
                            data_team_email="data@trust.example.org", trust_name="Test Trust")


class Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.rcpts: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        self.rcpts.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=_port())
    ctl.start()
    yield inbox, ctl.port
    ctl.stop()


def status_row(urn, name, rnd="R3", year="2025-26", due=dt.date(2026, 11, 30), **kw):
    row = {"academy_urn": urn, "academy_name": name, "leaving_year": year, "round": rnd,
           "round_label": "Actual destination, autumn after leaving", "due_date": due, "is_submitted": False,
           "return_status": "missing", "latest_submission_status": None, "last_submitted_at": None,
           "feedback_path": None, "latest_original_name": None}
    row.update(kw)
    return row


ROWS = [
    status_row("100001", "Oak Academy"),                                    # overdue by 8 days
    status_row("100002", "Ash Academy", return_status="rejected_only", latest_submission_status="rejected",
               last_submitted_at=dt.datetime(2026, 12, 7, 15, 4), latest_original_name="ash R3.xlsx",
               feedback_path="feedback/returns/100002/2025-26/R3/ash R3.xlsx.feedback.html"),
    status_row("100003", "Elm Academy", is_submitted=True, return_status="submitted"),   # nothing to say
    status_row("100004", "Yew Academy", rnd="R1", year="2026-27", due=dt.date(2026, 12, 15)),  # due in 7 days
    status_row("100005", "Fir Academy", rnd="R1", year="2026-27", due=dt.date(2026, 12, 15)),  # no address
]
CONTACTS = {"100001": {"email": "careers@oak.example.org"}, "100002": {"email": "careers@ash.example.org"},
            "100003": {"email": "careers@elm.example.org"}, "100004": {"email": "careers@yew.example.org"},
            "100005": {"email": None}}
PROBLEMS = {("100002", "2025-26", "R3"): ["error: destination_code '999' is not a code (12 time(s); rows 4, 9). "
                                          "How to fix: use a code from the template's Codes sheet"]}


def test_events_before_on_the_day_overdue_and_repeat():
    r = status_row("1", "A", due=dt.date(2026, 12, 15))
    assert events_for(r, dt.date(2026, 12, 7), SETTINGS) == []
    assert events_for(r, dt.date(2026, 12, 8), SETTINGS)[0][0] == "due_soon"
    assert events_for(r, dt.date(2026, 12, 15), SETTINGS)[0][0] == "due_today"
    assert events_for(r, dt.date(2026, 12, 16), SETTINGS)[0][0] == "overdue_0"
    assert events_for(r, dt.date(2026, 12, 22), SETTINGS)[0][0] == "overdue_0"
    assert events_for(r, dt.date(2026, 12, 23), SETTINGS)[0][0] == "overdue_1"   # a week later: again
    assert events_for(r, dt.date(2027, 3, 1), SETTINGS) == []                    # past the chase window
    assert events_for({**r, "is_submitted": True}, dt.date(2026, 12, 16), SETTINGS) == []


def test_reminders_reach_a_real_smtp_server_once(smtp_server, tmp_path):
    inbox, port = smtp_server
    planned = plan_notifications(ROWS, CONTACTS, TODAY, SETTINGS, PROBLEMS)
    assert [n.academy_urn for n in planned] == ["100002", "100001", "100005", "100004", None]
    smtp = SmtpSettings(host="127.0.0.1", port=port, starttls=False, sender="destinations@trust.example.org")
    log = SentLog(tmp_path / "outbox" / "sent_log.jsonl")
    d = deliver(planned, smtp, tmp_path / "outbox", log, reply_to="data@trust.example.org")
    assert (len(d.sent), len(d.no_address), len(d.failed)) == (4, 1, 0)
    assert sorted(r[0] for r in inbox.rcpts) == ["careers@ash.example.org", "careers@oak.example.org",
                                                 "careers@yew.example.org", "data@trust.example.org"]
    by_to = {m["To"]: m for m in inbox.messages}
    ash = by_to["careers@ash.example.org"]
    body = ash.get_content()
    assert ash["Subject"] == "Test Trust: R3 destination return 2025-26 for Ash Academy - rejected"
    assert ash["From"] == "destinations@trust.example.org" and ash["Reply-To"] == "data@trust.example.org"
    assert "REJECTED: ash R3.xlsx (sent 2026-12-07) could not be used" in body
    assert "OVERDUE by 8 days" in body
    assert "Monday 30 November 2026" in body
    assert "destination_code '999' is not a code (12 time(s); rows 4, 9)" in body
    assert "feedback/returns/100002/2025-26/R3/ash R3.xlsx.feedback.html" in body
    oak = by_to["careers@oak.example.org"].get_content()
    assert "OVERDUE by 8 days: nothing usable received" in oak and "What was wrong" not in oak
    assert "NOT YET RECEIVED: due in 7 days" in by_to["careers@yew.example.org"].get_content()
    digest = by_to["data@trust.example.org"].get_content()
    assert "Fir Academy (100005) R1 2026-27" in digest and "NO ADDRESS" in digest
    assert "Elm Academy" not in digest
    # the same day again: nothing new is sent
    again = deliver(plan_notifications(ROWS, CONTACTS, TODAY, SETTINGS, PROBLEMS), smtp, tmp_path / "outbox",
                    SentLog(tmp_path / "outbox" / "sent_log.jsonl"))
    assert len(again.sent) == 0 and len(again.skipped) == 4 and len(inbox.messages) == 4
    # a week later Oak is chased again (a new overdue event); Ash's rejection is not repeated
    later = plan_notifications(ROWS, CONTACTS, TODAY + dt.timedelta(days=7), SETTINGS, PROBLEMS)
    d3 = deliver(later, smtp, tmp_path / "outbox", SentLog(tmp_path / "outbox" / "sent_log.jsonl"))
    sent_to = sorted(n.to for n in d3.sent)
    assert "careers@oak.example.org" in sent_to and "careers@yew.example.org" in sent_to


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    c, k = tmp_path / "relay.pem", tmp_path / "relay.key"
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return c, k


def test_starttls_and_login_like_a_microsoft_365_relay(tmp_path):
    cert, key = _self_signed(tmp_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    seen = []

    def auth(server, session, envelope, mechanism, data):
        seen.append((mechanism, data.login, session.ssl is not None))
        return AuthResult(success=(data.login, data.password) == (b"relay@trust.example.org", b"s3cret"))

    inbox = Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=_port(), tls_context=ctx, require_starttls=True,
                     authenticator=auth, auth_require_tls=True)
    ctl.start()
    try:
        env = {"DESTINATIONS_SMTP_HOST": "127.0.0.1", "DESTINATIONS_SMTP_PORT": str(ctl.port),
               "DESTINATIONS_SMTP_USER": "relay@trust.example.org", "DESTINATIONS_SMTP_PASSWORD": "wrong",
               "DESTINATIONS_SMTP_FROM": "careers-data@trust.example.org", "DESTINATIONS_SMTP_CAFILE": str(cert)}
        planned = plan_notifications(ROWS[:1], CONTACTS, TODAY, SETTINGS)
        log = SentLog(tmp_path / "sent_log.jsonl")
        bad = deliver(planned, SmtpSettings.from_env(env), tmp_path / "outbox", log)
        assert bad.sent == [] and len(bad.failed) == 2 and "cannot connect" in bad.failed[0][1]
        assert not (tmp_path / "sent_log.jsonl").exists()  # nothing recorded: retried next time
        good = deliver(planned, SmtpSettings.from_env({**env, "DESTINATIONS_SMTP_PASSWORD": "s3cret"}),
                       tmp_path / "outbox", SentLog(tmp_path / "sent_log.jsonl"))
        assert len(good.sent) == 2 and len(inbox.messages) == 2
        assert all(tls for _, _, tls in seen)           # credentials only ever sent inside TLS
        assert inbox.messages[0]["From"] == "careers-data@trust.example.org"
    finally:
        ctl.stop()


def test_outbox_when_no_smtp_and_notify_over_a_data_dir(tmp_path, monkeypatch):
    root = tmp_path / "data"
    (root / "raw").mkdir(parents=True)
    serving = root / "warehouse" / "serving"
    serving.mkdir(parents=True)
    # register WITHOUT the careers_leader_email column for one, with it for the other
    (root / "raw" / "academies.csv").write_text(
        "urn,name,la_code,phase,has_sixth_form,joined_trust,careers_leader_email\n"
        "100001,Oak Academy,352,secondary,Y,2015-09-01,careers@oak.example.org\n"
        "100004,Yew Academy,352,secondary,N,2015-09-01,not-an-address\n")
    served_return_status(ROWS[:1] + ROWS[3:4]).write_parquet(serving / "return_status.parquet")
    for k in [k for k in __import__("os").environ if k.startswith("DESTINATIONS_SMTP")]:
        monkeypatch.delenv(k)
    res = notify_returns(paths(root), today=TODAY, env={})
    assert "outbox folder" in res.delivery.via
    files = sorted((root / "outbox").glob("*.eml"))
    assert len(files) == 2  # Oak + the digest; Yew has no usable address
    msgs = [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    oak = next(m for m in msgs if m["To"] == "careers@oak.example.org")
    assert "OVERDUE by 8 days" in oak.get_content()
    digest = next(m for m in msgs if "digest" in m["Subject"])
    assert "Yew Academy (100004) R1 2026-27" in digest.get_content()
    again = notify_returns(paths(root), today=TODAY, env={})
    assert again.delivery.sent == [] and len(list((root / "outbox").glob("*.eml"))) == 2


def test_notify_command(tmp_path, monkeypatch, capsys):
    from pipelines.cli import main

    root = tmp_path / "data"
    (root / "raw").mkdir(parents=True)
    serving = root / "warehouse" / "serving"
    (root / "raw" / "academies.csv").write_text(
        "urn,name,la_code,phase,has_sixth_form,joined_trust,careers_leader_email\n"
        "100001,Oak Academy,352,secondary,Y,2015-09-01,careers@oak.example.org\n")
    monkeypatch.setenv("DESTINATIONS_DATA_DIR", str(root))
    for k in [k for k in __import__("os").environ if k.startswith("DESTINATIONS_SMTP")]:
        monkeypatch.delenv(k)
    assert main(["notify"]) == 1
    assert "run `destinations run` first" in capsys.readouterr().err
    serving.mkdir(parents=True)
    served_return_status(ROWS[:1]).write_parquet(serving / "return_status.parquet")
    assert main(["notify", "--today", "8/12/2026"]) == 2
    assert main(["notify", "--today", "2026-12-08", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "to careers@oak.example.org" in out and "2 message(s) would be sent" in out
    assert not (root / "outbox").exists()
    assert main(["notify", "--today", "2026-12-08"]) == 0
    assert "2 delivered via outbox folder" in capsys.readouterr().out
    monkeypatch.setenv("DESTINATIONS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("DESTINATIONS_SMTP_PORT", "smtp")
    assert main(["notify", "--today", "2026-12-20"]) == 2
    assert "DESTINATIONS_SMTP_PORT 'smtp' is not a port number" in capsys.readouterr().err
