"""A GeoReport v2 client (JSON) for forwarding complaints to other Open311 back ends.

Every failure is classified, because Open311 has no idempotency key for ``POST requests``:

* :class:`NotSent` — the request never reached the back end (connection refused, DNS, connect
  timeout) or a gateway answered 502/503/504 for it: safe to send again;
* :class:`Rejected` — a 4xx answer: the back end refused it; sending it again will not help
  (``status`` tells 404 from 400/403);
* :class:`Uncertain` — sent, but the outcome is unknown (read timeout, connection dropped, a 500,
  an answer we cannot read): a create must not be sent again before the back end was searched.

Messages name the call and what went wrong; they never contain the ``api_key`` (scrubbed from
anything we format) nor request bodies (personal data).
"""
from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import requests

log = logging.getLogger("aduan_open311.client")

GATEWAY_STATUSES = (502, 503, 504)


class Open311ClientError(Exception):
    kind = "error"

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


class NotSent(Open311ClientError):
    kind = "not_sent"


class Rejected(Open311ClientError):
    kind = "rejected"


class Uncertain(Open311ClientError):
    kind = "uncertain"


def _first_error(body: Any) -> str:
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return str(body[0].get("description") or body[0].get("code") or "")[:300]
    return ""


class GeoReportClient:
    """One destination (an entry of ``OPEN311_DESTINATIONS``); JSON format, form-encoded POSTs."""

    def __init__(self, name: str, dest: dict, *, connect_timeout: float = 5, read_timeout: float = 30):
        self.name = name
        self.base = dest["endpoint"].rstrip("/")
        self.api_key = dest["api_key"]
        self.jurisdiction_id = dest.get("jurisdiction_id")
        self.timeout = (connect_timeout, read_timeout)

    def scrub(self, text: str) -> str:
        if self.api_key and len(self.api_key) >= 3:
            text = text.replace(self.api_key, "***").replace(quote(self.api_key, safe=""), "***")
        return text

    def _params(self, extra: dict | None = None) -> dict:
        params = {k: v for k, v in (extra or {}).items() if v not in (None, "")}
        if self.jurisdiction_id:
            params["jurisdiction_id"] = self.jurisdiction_id
        return params

    def call(self, method: str, resource: str, *, params=None, data=None) -> Any:
        """One call to ``{endpoint}/{resource}.json``; the decoded JSON of a 2xx answer, or an error."""
        where = f"{self.name}: {method} {resource}.json"
        url = f"{self.base}/{resource}.json"
        try:
            resp = requests.request(method, url, params=self._params(params) if method == "GET" else None,
                                    data=self._params(data) if method != "GET" else None,
                                    timeout=self.timeout, headers={"Accept": "application/json"})
        except (requests.ConnectionError, requests.Timeout) as exc:
            # a connect timeout or a refused connection never reached the back end; a read timeout or
            # a connection dropped after sending may have
            if isinstance(exc, requests.ConnectTimeout) or (
                    isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.ReadTimeout)
                    and _never_connected(exc)):
                raise NotSent(f"{where}: cannot connect ({type(exc).__name__})") from None
            raise Uncertain(f"{where}: no answer ({type(exc).__name__}); outcome unknown") from None
        except requests.RequestException as exc:
            raise NotSent(self.scrub(f"{where}: {type(exc).__name__}")) from None
        try:
            body = resp.json() if resp.content else None
        except ValueError:
            body = None
        if resp.status_code in GATEWAY_STATUSES:
            raise NotSent(f"{where}: HTTP {resp.status_code} from a gateway", status=resp.status_code)
        if 400 <= resp.status_code < 500:
            detail = _first_error(body)
            raise Rejected(self.scrub(f"{where}: HTTP {resp.status_code}" + (f": {detail}" if detail else "")),
                           status=resp.status_code)
        if resp.status_code >= 300:
            raise Uncertain(f"{where}: HTTP {resp.status_code}; outcome unknown", status=resp.status_code)
        if body is None and resp.content:
            raise Uncertain(f"{where}: an answer that is not JSON; outcome unknown", status=resp.status_code)
        return body

    # --- the calls --------------------------------------------------------------------------------
    def create(self, form: dict) -> dict:
        """``POST requests``: ``{"service_request_id": ...}`` or ``{"token": ...}``."""
        body = self.call("POST", "requests", data={**form, "api_key": self.api_key})
        item = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else body
        if not isinstance(item, dict) or not (item.get("service_request_id") or item.get("token")):
            raise Uncertain(f"{self.name}: POST requests.json answered without service_request_id or token; "
                            "outcome unknown")
        return {"service_request_id": _s(item.get("service_request_id")), "token": _s(item.get("token"))}

    def token(self, token: str) -> str | None:
        """``GET tokens/{token}``: the service request id once the back end has one."""
        body = self.call("GET", f"tokens/{quote(token, safe='')}")
        for item in body if isinstance(body, list) else [body]:
            if isinstance(item, dict) and item.get("service_request_id"):
                return _s(item["service_request_id"])
        return None

    def requests(self, params: dict) -> list[dict]:
        body = self.call("GET", "requests", params=params)
        return [r for r in body if isinstance(r, dict)] if isinstance(body, list) else []

    def updates(self, params: dict) -> list[dict]:
        body = self.call("GET", "servicerequestupdates", params=params)
        return [r for r in body if isinstance(r, dict)] if isinstance(body, list) else []

    def post_update(self, form: dict) -> Any:
        return self.call("POST", "servicerequestupdates", data={**form, "api_key": self.api_key})


def _s(value) -> str | None:
    return None if value in (None, "") else str(value)


def _never_connected(exc: requests.ConnectionError) -> bool:
    """A refused or unresolvable connection (nothing was sent), as opposed to one dropped mid-answer."""
    text = repr(exc.args[0] if exc.args else exc)
    return any(s in text for s in ("NewConnectionError", "Connection refused", "NameResolutionError",
                                   "Failed to establish", "ConnectTimeout", "No route to host"))
