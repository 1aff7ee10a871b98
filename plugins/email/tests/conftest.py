"""Real local mail servers for the email plugin's tests: aiosmtpd (receives what we send) and pymap
(an IMAP server with its in-memory backend, run as a subprocess and seeded by IMAP APPEND)."""
from __future__ import annotations

import email
import email.policy
import imaplib
import os
import socket
import subprocess
import sys
import threading
import time
from email.message import EmailMessage

import pytest

IMAP_USER, IMAP_PASSWORD = "lapor", "imap-secret"
FROM = "lapor@pemda.example.id"


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port: int, timeout: float = 15) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


class Inbox:
    """What the SMTP server received, parsed."""

    def __init__(self):
        self.envelopes = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"

    @property
    def messages(self):
        return [email.message_from_bytes(e.original_content or e.content, policy=email.policy.default)
                for e in self.envelopes]

    def to(self, address):
        return [m for e, m in zip(self.envelopes, self.messages) if address in e.rcpt_tos]


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    inbox.port = port
    yield inbox
    ctl.stop()


class Imap:
    """Test-side access to the IMAP server (one logged-in session: pymap hashes passwords slowly)."""

    def __init__(self, port):
        self.port = port
        self._conn = None

    def client(self):
        c = imaplib.IMAP4("127.0.0.1", self.port)
        c.login(IMAP_USER, IMAP_PASSWORD)
        return c

    @property
    def conn(self):
        if self._conn is None:
            self._conn = self.client()
        return self._conn

    def append(self, msg: EmailMessage | bytes, mailbox="INBOX"):
        raw = msg if isinstance(msg, bytes) else msg.as_bytes()
        typ, _ = self.conn.append(mailbox, None, None, raw)
        assert typ == "OK"

    def uids(self, mailbox="INBOX"):
        typ, _ = self.conn.select(mailbox, readonly=True)
        if typ != "OK":
            return []
        typ, data = self.conn.uid("SEARCH", None, "ALL")
        return [int(u) for u in (data[0] or b"").split()]

    def close(self):
        if self._conn is not None:
            try:
                self._conn.logout()
            except Exception:  # noqa: BLE001
                pass


def start_pymap(cert=None, key=None):
    port = free_port()
    exe = os.path.join(os.path.dirname(sys.executable), "pymap")
    tls = ["--cert", cert, "--key", key] if cert else ["--no-tls"]
    proc = subprocess.Popen([exe, "--no-service", "admin", "--host", "127.0.0.1", "--port", str(port), *tls,
                             "dict", "--demo-user", IMAP_USER, "--demo-password", IMAP_PASSWORD],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
    except Exception:
        proc.terminate()
        raise
    return proc, port


@pytest.fixture
def imap_server():
    proc, port = start_pymap()
    server = Imap(port)
    try:
        yield server
    finally:
        server.close()
        proc.terminate()
        proc.wait(timeout=10)


def self_signed(tmp_path):
    """A certificate for 127.0.0.1 (its own CA) and its key, as PEM files."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


class DroppingProxy:
    """A TCP proxy in front of the IMAP server that cuts the connection (both ways) the first time
    the client sends a command containing ``trigger``: a real dropped connection."""

    def __init__(self, target_port: int, *triggers: bytes):
        self.target, self.triggers = target_port, triggers
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.dropped = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src, dst, from_client):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_client and not self.dropped and any(t in data.upper() for t in self.triggers):
                    self.dropped = True
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.sock.close()


@pytest.fixture
def email_app(make_app, smtp_server):
    """An app with the email plugin, sending to the local SMTP server; IMAP set per test."""
    def build(extra=None):
        cfg = {"PLUGINS": ["email"], "EMAIL_FROM_ADDRESS": FROM, "EMAIL_SMTP_HOST": "127.0.0.1",
               "EMAIL_SMTP_PORT": smtp_server.port, "EMAIL_SMTP_SECURITY": "none",
               "EMAIL_MAILGUN_SIGNING_KEY": "mailgun-key", "EMAIL_SENDGRID_SECRET": "sendgrid-secret",
               "EMAIL_RAW_SECRET": "raw-secret", "BASE_URL": "https://lapor.example.id"}
        cfg.update(extra or {})
        return make_app(cfg)
    return build


def mail(*, sender="Budi Santoso <budi@warga.example>", to=FROM, subject="Jalan rusak di Jl. Pejanggik",
         body="Jalan berlubang besar di depan pasar, sudah dua minggu.", msgid=None, headers=None,
         html=None, attachments=()) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject
    m["Message-ID"] = msgid or email.utils.make_msgid(domain="warga.example")
    m["Date"] = email.utils.formatdate()
    for k, v in (headers or {}).items():
        m[k] = v
    if body is not None:
        m.set_content(body)
        if html:
            m.add_alternative(html, subtype="html")
    elif html:
        m.set_content(html, subtype="html")
    for name, data, ctype in attachments:
        maintype, subtype = ctype.split("/")
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return m


def run_worker(app):
    from aduan.jobs import Worker

    return Worker(app).run_once()


def complaints():
    from aduan.models import Complaint

    return list(Complaint.select().order_by(Complaint.id))


def events(c, type_=None):
    from aduan.models import Event

    q = Event.select().where(Event.complaint == c.id).order_by(Event.id)
    return [e for e in q if type_ is None or e.type == type_]


PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def imap_config(server, port=None):  # noqa: D103
    return {"EMAIL_IMAP_HOST": "127.0.0.1", "EMAIL_IMAP_PORT": port or server.port, "EMAIL_IMAP_SECURITY": "none",
            "EMAIL_IMAP_USERNAME": IMAP_USER, "EMAIL_IMAP_PASSWORD": IMAP_PASSWORD, "EMAIL_IMAP_TIMEOUT": 5}


@pytest.fixture
def h():
    """The helpers above (mail builder, worker, queries)."""
    return sys.modules[__name__]
