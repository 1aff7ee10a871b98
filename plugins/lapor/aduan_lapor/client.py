"""HTTP client for the SP4N-LAPOR! v3 API (E1–E8 of the spec).

Every failure is classified, because LAPOR! has no idempotency key:

* :class:`NotSent` — the request never left (connection refused, DNS, connect timeout, TLS
  handshake) or was refused before processing (429 :class:`RateLimited`): safe to send again;
* :class:`Rejected` — a 4xx answer: LAPOR! refused it; sending it again will not help;
* :class:`Uncertain` — sent, but the outcome is unknown (read timeout, connection dropped after
  sending, a 5xx from LAPOR! itself): a create must not be resent blindly; a 5xx the gateway answers
  without a LAPOR! body (``LAPOR_NOT_CREATED_STATUSES``, default 502/503/504) is :class:`NotSent`;
* :class:`BadResponse` — a 2xx answer we cannot read (not JSON, unexpected shape): LAPOR! probably
  did it, we cannot tell what came of it.

Messages name the endpoint and what went wrong; they never contain credentials (the bearer token
and the GUID are scrubbed from anything we format) nor request bodies (personal data).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Iterable
from urllib.parse import parse_qs, quote, urlparse

import requests
import urllib3

from .config import DEFAULT_PATHS, normalise_guid

log = logging.getLogger("aduan_lapor.client")


class LaporError(Exception):
    kind = "error"

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class NotSent(LaporError):
    kind = "not_sent"


class RateLimited(NotSent):
    kind = "rate_limited"


class Rejected(LaporError):
    kind = "rejected"


class Uncertain(LaporError):
    kind = "uncertain"


class BadResponse(LaporError):
    kind = "bad_response"


class NotConfigured(LaporError):
    kind = "not_configured"


def dig(obj: Any, dotted: str) -> Any:
    """``dig({"a": {"b": 1}}, "a.b") == 1``; ``None`` when any step is missing."""
    for part in dotted.split("."):
        if isinstance(obj, dict) and part in obj:
            obj = obj[part]
        else:
            return None
    return obj


def _keys(obj: Any) -> str:
    if isinstance(obj, dict):
        return "keys: " + ", ".join(sorted(map(str, obj))[:12])
    return f"a JSON {type(obj).__name__}"


class Throttle:
    """Spaces requests to one service across every thread of the process: at most ``rate`` a second
    after a burst of ``burst`` (a generic cell rate algorithm), and none while the service asked us
    to wait (:meth:`pause`, from a 429's ``Retry-After``)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._tat = 0.0  # theoretical arrival time of the next request (monotonic clock)
        self._paused_until = 0.0

    def reserve(self, rate: float, burst: int) -> float:
        """Reserve a slot; returns the seconds to wait before sending."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._paused_until)
            if rate <= 0:
                return start - now
            interval = 1.0 / rate
            tat = max(self._tat, start)
            at = max(start, tat - (burst - 1) * interval)
            self._tat = tat + interval
            return at - now

    def wait(self, rate: float, burst: int) -> None:
        delay = self.reserve(rate, burst)
        if delay > 0:
            time.sleep(delay)

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)


_throttles: dict[str, Throttle] = {}
_throttles_lock = threading.Lock()
_local = threading.local()


def throttle_for(base: str) -> Throttle:
    with _throttles_lock:
        return _throttles.setdefault(base, Throttle())


def session(idle_limit: float) -> requests.Session:
    """This thread's HTTP session (kept-alive, pooled connections: no new TCP/TLS handshake per request).

    A connection idle longer than ``idle_limit`` seconds is not reused: the server may be closing it, and
    a create sent on a connection closed under it would end "outcome unknown" when LAPOR! never saw it.
    """
    s = getattr(_local, "session", None)
    now = time.monotonic()
    if s is not None and (idle_limit <= 0 or now - _local.last_used > idle_limit):
        s.close()
        s = None
    if s is None:
        s = requests.Session()
        # the environment (proxies, CA bundle) is read once per process by environment() and passed with
        # each request: left to requests, it re-reads it (and ~/.netrc) on every request, a large part of
        # a push's CPU in a backlog; and a netrc entry can no longer replace our Authorization header
        s.trust_env = False
        adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=2, max_retries=0)
        s.mount("https://", adapter)
        s.mount("http://", adapter)
        _local.session = s
    _local.last_used = now
    return s


_environments: dict[str, tuple[dict, Any]] = {}


def environment(base: str) -> tuple[dict, Any]:
    """``(proxies, verify)`` for ``base`` from the process's environment (``HTTPS_PROXY``, ``NO_PROXY``,
    ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``), as requests would find them; read once per process."""
    env = _environments.get(base)
    if env is None:
        import os

        proxies = requests.utils.get_environ_proxies(base)
        verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        env = _environments[base] = (proxies, verify)
    return env


class LaporClient:
    """One client per job. Requests go through this thread's :func:`session` and the process's
    :class:`Throttle` for the base URL (``LAPOR_RATE_LIMIT``)."""

    def __init__(self, config):
        from .config import missing_credentials

        self.cfg = config
        missing = missing_credentials(config)
        if missing:
            raise NotConfigured("LAPOR! is not configured: set " + ", ".join(missing))
        self.base = config["LAPOR_BASE_URL"].rstrip("/")
        self.timeout = (config["LAPOR_CONNECT_TIMEOUT"], config["LAPOR_READ_TIMEOUT"])
        token = str(config["LAPOR_BEARER_TOKEN"]).strip()
        guid = normalise_guid(str(config["LAPOR_TOKEN_GUID"]))
        self._headers = {"Accept": "application/json", config["LAPOR_AUTH_HEADER"]: f"Bearer {token}", "token": guid}
        self._secrets = sorted({s for s in (token, guid, guid.strip("{}"), str(config["LAPOR_TOKEN_GUID"]).strip())
                                if s and len(s) >= 4}, key=len, reverse=True)
        self.renames = dict(config.get("LAPOR_FIELD_NAMES") or {})
        self.throttle = throttle_for(self.base)
        self.rate, self.burst = float(config.get("LAPOR_RATE_LIMIT") or 0), int(config.get("LAPOR_RATE_BURST") or 1)
        self.idle = float(config.get("LAPOR_KEEPALIVE_IDLE", 4))
        self.proxies, self.verify = environment(self.base)

    # --- plumbing -----------------------------------------------------------------------------
    def scrub(self, text: str) -> str:
        for s in self._secrets:
            text = text.replace(s, "***")
        return text

    def path(self, key: str, complaint_id: str | int | None = None) -> str:
        p = self.cfg.get("LAPOR_PATH_" + key.upper()) or DEFAULT_PATHS[key]
        if complaint_id is not None:
            p = p.replace("{complaint_id}", quote(str(complaint_id), safe=""))
        return p if p.startswith("/") else "/" + p

    def rename(self, body: dict[str, Any]) -> dict[str, Any]:
        return {self.renames.get(k, k): v for k, v in body.items()}

    def request(self, ep: str, method: str, path: str, *, json_body=None, data=None, files=None,
                params=None) -> Any:
        """Send one request; returns the decoded JSON body of a 2xx answer or raises a LaporError."""
        where = f"{ep} {method} {path.split('?')[0]}"
        self.throttle.wait(self.rate, self.burst)
        try:
            resp = session(self.idle).request(method, self.base + path, headers=self._headers, json=json_body,
                                              data=data, files=files, params=params, timeout=self.timeout,
                                              allow_redirects=False, proxies=self.proxies, verify=self.verify)
        except requests.exceptions.ConnectTimeout:
            raise NotSent(f"{where}: connection timed out (not sent)") from None
        except requests.exceptions.SSLError:
            raise NotSent(f"{where}: TLS handshake failed (not sent)") from None
        except requests.exceptions.ReadTimeout:
            raise Uncertain(f"{where}: no response within {self.timeout[1]} s (sent; outcome unknown)") from None
        except requests.exceptions.ConnectionError as exc:
            reason = exc.args[0] if exc.args else None
            reason = getattr(reason, "reason", reason)
            if isinstance(reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)):
                kind = "name not resolved" if isinstance(reason, urllib3.exceptions.NameResolutionError) \
                    else "connection refused or unreachable"
                raise NotSent(f"{where}: {kind} (not sent)") from None
            raise Uncertain(f"{where}: connection dropped before a response (sent; outcome unknown)") from None
        except requests.exceptions.RequestException as exc:
            raise Uncertain(f"{where}: {type(exc).__name__} while reading the response (outcome unknown)") from None
        return self._decode(where, resp)

    def _decode(self, where: str, resp: requests.Response) -> Any:
        st = resp.status_code
        if st == 429:
            ra = resp.headers.get("Retry-After")
            try:
                retry_after = max(0.0, float(ra)) if ra is not None else None
            except ValueError:
                retry_after = None
            self.throttle.pause(retry_after if retry_after is not None else 1.0)
            raise RateLimited(f"{where}: HTTP 429 rate limited (not processed)", status=st, retry_after=retry_after)
        if st in (401, 403):
            raise Rejected(self.scrub(
                f"{where}: HTTP {st}: credentials refused (check ADUAN_LAPOR_BEARER_TOKEN, ADUAN_LAPOR_TOKEN_GUID "
                f"and LAPOR_AUTH_HEADER={self.cfg['LAPOR_AUTH_HEADER']})"), status=st)
        if 400 <= st < 500:
            raise Rejected(self.scrub(f"{where}: HTTP {st} refused: {self._summary(resp)}"), status=st)
        if st >= 500:
            if self._not_processed(resp):
                raise NotSent(f"{where}: HTTP {st} answered by the gateway without a LAPOR! body "
                              f"(not processed: not created)", status=st)
            raise Uncertain(f"{where}: HTTP {st} server error (outcome unknown)", status=st)
        if not 200 <= st < 300:
            raise BadResponse(f"{where}: unexpected HTTP {st}", status=st)
        try:
            body = resp.json()
        except ValueError:
            raise BadResponse(f"{where}: HTTP {st} but the body is not JSON "
                              f"(content-type {resp.headers.get('Content-Type', 'none')}, {len(resp.content)} bytes)",
                              status=st) from None
        return body

    def _not_processed(self, resp: requests.Response) -> bool:
        """A 5xx that says for certain the request was not processed (``LAPOR_NOT_CREATED_STATUSES``).

        With ``LAPOR_NOT_CREATED_GATEWAY_ONLY`` (default) only when the body is not LAPOR!'s own: empty,
        or not JSON (the gateway's HTML page). A JSON body means LAPOR! itself answered, possibly after
        doing the work: that stays uncertain.
        """
        if resp.status_code not in set(self.cfg.get("LAPOR_NOT_CREATED_STATUSES") or ()):
            return False
        if not self.cfg.get("LAPOR_NOT_CREATED_GATEWAY_ONLY", True):
            return True
        content = resp.content.strip()
        if not content:
            return True
        try:
            resp.json()
        except ValueError:
            return True
        return False

    @staticmethod
    def _summary(resp: requests.Response) -> str:
        """Laravel-style ``message`` and field names of ``errors``; never the request's values."""
        try:
            body = resp.json()
        except ValueError:
            return f"non-JSON body ({len(resp.content)} bytes)"
        if not isinstance(body, dict):
            return "unexpected body"
        parts = []
        msg = body.get("message") or dig(body, "results.message")
        if isinstance(msg, str):
            parts.append(msg[:200])
        errs = body.get("errors")
        if isinstance(errs, dict):
            for k, v in list(errs.items())[:10]:
                first = v[0] if isinstance(v, list) and v else v
                parts.append(f"{k}: {str(first)[:120]}")
        return "; ".join(parts) or _keys(body)

    # --- endpoints -----------------------------------------------------------------------------
    def _pages(self, ep: str, path: str, max_pages: int) -> Iterable[list]:
        """Follow Laravel pagination (``results.next_page_url``) by page number on our own path."""
        page, seen = 1, set()
        while True:
            body = self.request(ep, "GET", path, params={"page": page} if page > 1 else None)
            data = dig(body, "results.data")
            if not isinstance(data, list):
                raise BadResponse(f"{ep} GET {path.split('?')[0]}: no results.data list in the response "
                                  f"({_keys(dig(body, 'results') if isinstance(body, dict) and 'results' in body else body)})")
            yield data
            seen.add(page)
            nxt = dig(body, "results.next_page_url")
            if not nxt:
                return
            try:
                nxt_page = int(parse_qs(urlparse(str(nxt)).query).get("page", [page + 1])[0])
            except ValueError:
                nxt_page = page + 1
            if nxt_page in seen or len(seen) >= max_pages:
                raise BadResponse(f"{ep}: pagination does not end (page {nxt_page} after {len(seen)} pages)")
            page = nxt_page

    def institutions(self) -> list[dict]:
        out = []
        for data in self._pages("E1", self.path("institutions"), 1000):
            for row in data:
                if not isinstance(row, dict) or "id" not in row or "name" not in row:
                    raise BadResponse(f"E1: an institution without id and name ({_keys(row)})")
                try:
                    out.append({"id": int(row["id"]), "name": str(row["name"]), "raw": row})
                except (TypeError, ValueError):
                    raise BadResponse("E1: an institution id is not a number") from None
        return out

    def upload(self, files: list[tuple[str, bytes, str]]) -> list[int | str]:
        parts = [("attachments[]", (name, content, ctype)) for name, content, ctype in files]
        body = self.request("E3", "POST", self.path("upload"), files=parts)
        ids = []
        for key in ("images", "docs"):
            items = dig(body, f"results.{key}") or []
            if not isinstance(items, list):
                raise BadResponse(f"E3: results.{key} is not a list")
            for it in items:
                if not isinstance(it, dict) or it.get("id") is None:
                    raise BadResponse(f"E3: an uploaded file without id ({_keys(it)})")
                ids.append(it["id"])
        if len(ids) != len(files):
            raise BadResponse(f"E3: sent {len(files)} file(s), the response lists {len(ids)} id(s)")
        return ids

    def create(self, body: dict[str, Any]) -> str:
        resp = self.request("E4", "POST", self.path("create"), json_body=self.rename(body))
        for p in self.cfg.get("LAPOR_CREATED_ID_PATHS") or ["complaint_id", "results.complaint.id"]:
            v = dig(resp, p)
            if v not in (None, "") and not isinstance(v, (dict, list, bool)):
                return str(v)
        raise BadResponse(f"E4: the response carries no complaint id at "
                          f"{' or '.join(self.cfg.get('LAPOR_CREATED_ID_PATHS') or [])} ({_keys(resp)}); "
                          f"correct LAPOR_CREATED_ID_PATHS if LAPOR! puts it elsewhere")

    def forward(self, lapor_id: str, target: int, text: str) -> Any:
        body = {"is_request": 1, "reason": target, "reason_description": text, "not_authority": 1}
        resp = self.request("E5", "POST", self.path("forward", lapor_id), json_body=self.rename(body))
        if isinstance(resp, dict) and (resp.get("success") is False or resp.get("status") is False):
            raise Rejected(f"E5: LAPOR! answered success=false: {self._msg(resp)}")
        return resp

    def status(self, lapor_id: str) -> tuple[dict, list]:
        resp = self.request("E6", "GET", self.path("status", lapor_id))
        data = dig(resp, "results.data")
        if not isinstance(data, dict):
            raise BadResponse(f"E6: no results.data object in the response ({_keys(resp)})")
        logs = dig(resp, "results.data_logs") or []
        if not isinstance(logs, list):
            raise BadResponse("E6: results.data_logs is not a list")
        return data, [x for x in logs if isinstance(x, dict)]

    def followups(self, lapor_id: str, max_pages: int = 100) -> list[dict]:
        out = []
        for data in self._pages("E7", self.path("followups", lapor_id), max_pages):
            out.extend(x for x in data if isinstance(x, dict))
        return out

    def add_followup(self, fields: dict[str, Any], files: list[tuple[str, bytes, str]] = ()) -> Any:
        # multipart/form-data even without files (requests would send a urlencoded body otherwise)
        # an unset field is left out, never sent as an empty string
        parts = [(k, (None, str(v))) for k, v in self.rename(fields).items() if v is not None]
        parts += [(f"attachment[{i}]", f) for i, f in enumerate(files)]
        resp = self.request("E8", "POST", self.path("followup_add"), files=parts)
        if isinstance(resp, dict) and (resp.get("success") is False or resp.get("status") is False):
            raise Rejected(f"E8: LAPOR! answered success=false: {self._msg(resp)}")
        return resp

    def _msg(self, resp: dict) -> str:
        m = resp.get("message") or dig(resp, "results.message") or ""
        return self.scrub(str(m)[:200])


def decode_json_string(value: Any) -> Any:
    """``data_logs[].data`` is a JSON *string*; tolerate a dict or garbage."""
    if isinstance(value, (dict, list)):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return json.loads(value)
        except ValueError:
            return None
    return None
