"""Configuration keys of the email plugin (``EMAIL_*``, environment ``ADUAN_EMAIL_*``)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from aduan.config import describe_key as _d




SECURITY = validate.OneOf(["starttls", "ssl", "none"])


class EmailConfig(Schema):
    # identity of our mailbox
    FROM_ADDRESS = fields.String(load_default="lapor@localhost", validate=validate.Email(), metadata=_d(
        "Address our mail comes from, e.g. lapor@ntbprov.go.id. Its local part and domain also form the "
        "reply addresses (lapor+<token>@domain) unless EMAIL_REPLY_ADDRESS is set."))
    FROM_NAME = fields.String(load_default="", metadata=_d(
        "Display name of our mail; default: INSTITUTION_NAME."))
    REPLY_ADDRESS = fields.String(load_default="", validate=lambda v: v == "" or validate.Email()(v),
                                  metadata=_d(
        "Mailbox that receives replies (its local part gets +<token>); default: EMAIL_FROM_ADDRESS. "
        "The mailbox must accept plus-addressing (sub-addressing)."))
    MESSAGE_ID_DOMAIN = fields.String(load_default="", metadata=_d(
        "Domain used in the Message-IDs we generate; default: the domain of EMAIL_FROM_ADDRESS."))
    # outbound (SMTP)
    SMTP_HOST = fields.String(load_default="", metadata=_d(
        "SMTP server for outgoing mail. Empty: the plugin sends nothing (no notification jobs are queued)."))
    SMTP_PORT = fields.Integer(load_default=587, validate=validate.Range(min=1, max=65535), metadata=_d(
        "SMTP port (587 submission with STARTTLS, 465 implicit TLS, 25 relay)."))
    SMTP_SECURITY = fields.String(load_default="starttls", validate=SECURITY, metadata=_d(
        "starttls, ssl (implicit TLS) or none (only for a relay on the same host or network)."))
    SMTP_USERNAME = fields.String(load_default="", metadata=_d("SMTP login; empty: no AUTH."))
    SMTP_PASSWORD = fields.String(load_default="", metadata=_d("SMTP password.", secret=True))
    SMTP_CA_FILE = fields.String(load_default="", metadata=_d(
        "PEM file of certificate authorities to trust for SMTP and IMAP TLS; default: the system's."))
    SMTP_TIMEOUT = fields.Float(load_default=30, validate=validate.Range(min=1), metadata=_d(
        "Seconds before an SMTP connection attempt or command gives up (the job retries later)."))
    NOTIFY_REPORTERS = fields.Boolean(load_default=True, metadata=_d(
        "Email reporters who gave an address: acknowledgement, status changes and public answers."))
    NOTIFY_AGENCIES = fields.Boolean(load_default=True, metadata=_d(
        "Email an agency's inbox (agency.email) when a complaint is disposed or transferred to it."))
    # inbound (IMAP polling)
    IMAP_HOST = fields.String(load_default="", metadata=_d("IMAP server to poll; empty: no polling."))
    IMAP_PORT = fields.Integer(load_default=993, validate=validate.Range(min=1, max=65535), metadata=_d(
        "IMAP port (993 implicit TLS, 143 STARTTLS or plain)."))
    IMAP_SECURITY = fields.String(load_default="ssl", validate=SECURITY, metadata=_d(
        "ssl (implicit TLS), starttls or none (tests and local relays only)."))
    IMAP_USERNAME = fields.String(load_default="", metadata=_d("IMAP login."))
    IMAP_PASSWORD = fields.String(load_default="", metadata=_d("IMAP password.", secret=True))
    IMAP_MAILBOX = fields.String(load_default="INBOX", metadata=_d("Folder polled for new mail."))
    IMAP_PROCESSED_FOLDER = fields.String(load_default="Processed", metadata=_d(
        "Folder processed mail is moved to (created when missing; use the server's full name, e.g. "
        "INBOX.Processed on servers with an INBOX. namespace). Empty: leave mail in place, flagged \\Seen and "
        "$AduanProcessed."))
    IMAP_POLL_SECONDS = fields.Float(load_default=60, validate=validate.Range(min=1), metadata=_d(
        "How often the worker polls the mailbox."))
    IMAP_BATCH = fields.Integer(load_default=50, validate=validate.Range(min=1), metadata=_d(
        "Most messages handled in one poll."))
    IMAP_TIMEOUT = fields.Float(load_default=30, validate=validate.Range(min=1), metadata=_d(
        "Seconds before a silent IMAP connection is given up."))
    # webhooks
    MAILGUN_SIGNING_KEY = fields.String(load_default="", metadata=_d(
        "Mailgun HTTP webhook signing key; empty: /hooks/email/mailgun answers 403.", secret=True))
    SENDGRID_SECRET = fields.String(load_default="", metadata=_d(
        "Shared secret for SendGrid Inbound Parse, given as the password of basic auth in the Parse URL "
        "(https://sendgrid:SECRET@host/hooks/email/sendgrid) or as ?key=SECRET; empty: 403.", secret=True))
    RAW_SECRET = fields.String(load_default="", metadata=_d(
        "HMAC-SHA256 key for /hooks/email/raw (headers X-Aduan-Timestamp and X-Aduan-Signature: "
        "hex HMAC of '<timestamp>.<body>'); empty: 403.", secret=True))
    WEBHOOK_MAX_AGE = fields.Integer(load_default=300, validate=validate.Range(min=10), metadata=_d(
        "Seconds a signed webhook request stays valid (replay protection together with nonces)."))
    TRACK_URL = fields.String(load_default="", metadata=_d(
        "Link to follow a complaint sent to reporters; {base_url} and {tracking_id} are filled in. Empty: "
        "the core's link (the portal's tracking page when the portal is enabled, else the API's view)."))
    MAX_NEW_PER_SENDER = fields.Integer(load_default=20, validate=validate.Range(min=1), metadata=_d(
        "New complaints one sender address may file by email in 24 hours; more are recorded as ignored "
        "(replies to existing complaints are not limited)."))
    # content
    MAX_BYTES = fields.Integer(load_default=25 * 1024 * 1024, validate=validate.Range(min=1024), metadata=_d(
        "Largest message accepted, in bytes; larger mail is recorded as skipped."))
