"""Configuration keys for running aduan in production: logs, metrics, readiness, storage, shutdown.

:class:`aduan.config.CoreConfig` inherits these fields, so they are validated at start-up and listed
by ``aduan config`` like every other core key (environment ``ADUAN_<KEY>``).
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate


def _d(text: str, **extra) -> dict:
    return {"description": text, **extra}


class _StrList(fields.List):
    def __init__(self, **kwargs):
        super().__init__(fields.String(), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        return super()._deserialize(value, attr, data, **kwargs)


class OpsConfig(Schema):
    LOG_FORMAT = fields.String(load_default="auto", validate=validate.OneOf(["auto", "json", "text"]), metadata=_d(
        "Log lines: json (one JSON object a line, for journald/Docker/Loki), text (readable), or auto: text "
        "when standard error is a terminal, json otherwise."))
    LOG_LEVEL = fields.String(load_default="INFO", validate=validate.OneOf(
        ["DEBUG", "INFO", "WARNING", "ERROR"]), metadata=_d("Lowest level written to the log."))
    ACCESS_LOG = fields.Boolean(load_default=True, metadata=_d(
        "Write one access-log line per request (method, route pattern, status, duration, actor role, request id)."))
    METRICS_TOKEN = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Bearer token Prometheus must send to read /metrics. Unset: /metrics answers only to METRICS_ALLOW addresses.",
        secret=True))
    METRICS_ALLOW = _StrList(load_default=lambda: ["127.0.0.0/8", "::1/128"], metadata=_d(
        "Client networks (CIDR) that may read /metrics without METRICS_TOKEN."))
    READY_WORKER_MAX_AGE = fields.Float(load_default=120, validate=validate.Range(min=0), metadata=_d(
        "/ready fails when no worker has reported within this many seconds (0: do not check workers)."))
    WORKER_HEARTBEAT_SECONDS = fields.Float(load_default=15, validate=validate.Range(min=0.01), metadata=_d(
        "How often each worker records that it is alive."))
    SHUTDOWN_GRACE_SECONDS = fields.Float(load_default=30, validate=validate.Range(min=0), metadata=_d(
        "On SIGTERM a web process stops accepting and waits this long for requests in flight."))
    STORAGE_BACKEND = fields.String(load_default="local", validate=validate.OneOf(["local", "database", "s3"]),
                                    metadata=_d("Where attachments and published files live: local (ATTACHMENT_DIR), "
                                                "database (the stored_file table), or s3 (STORAGE_S3_*)."))
    STORAGE_S3_BUCKET = fields.String(load_default=None, allow_none=True, metadata=_d("S3 bucket (STORAGE_BACKEND=s3)."))
    STORAGE_S3_ENDPOINT_URL = fields.String(load_default=None, allow_none=True, metadata=_d(
        "S3-compatible endpoint, e.g. https://s3.example.go.id (unset: AWS)."))
    STORAGE_S3_REGION = fields.String(load_default=None, allow_none=True, metadata=_d("S3 region name."))
    STORAGE_S3_PREFIX = fields.String(load_default="", metadata=_d("Key prefix inside the bucket, e.g. aduan/."))
    STORAGE_S3_ACCESS_KEY_ID = fields.String(load_default=None, allow_none=True, metadata=_d(
        "S3 access key id (unset: boto3's environment/instance credentials).", secret=True))
    STORAGE_S3_SECRET_ACCESS_KEY = fields.String(load_default=None, allow_none=True, metadata=_d(
        "S3 secret access key.", secret=True))
