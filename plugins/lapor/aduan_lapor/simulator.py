"""A real HTTP server speaking the SP4N-LAPOR! v3 contract (E1–E8 of ``spec/lapor-v3.md``).

For tests and demos: the ``results`` envelope, Laravel-style pagination, both placements of the new
complaint id, the brace-GUID ``token`` header and the bearer header checks, a status progression a
test drives, and fault injection (error rate, latency, timeouts, 429, malformed bodies, and "created
but the response was lost"). Everything received is recorded (``sim.received``) so tests can
inspect exactly what left the deployment.

    sim = Simulator(token="t", guid="{...}").start()     # port chosen by the OS
    sim.url                                              # http://127.0.0.1:PORT
    sim.faults.rate = 0.3                                # 30 % of calls fail
    sim.fail_next("E4", "lost")                          # the next create is done, its answer lost
    sim.set_status(lapor_id, "Dalam Proses")             # LAPOR! moves the complaint on
    sim.add_followup(lapor_id, "Sudah diperbaiki")       # an institution answers
    sim.stop()

Run it alone: ``aduan lapor simulate --port 8765`` or ``python -m aduan_lapor.simulator``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import logging
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

log = logging.getLogger("aduan_lapor.simulator")

DEFAULT_TOKEN = "sim-bearer-token"
DEFAULT_GUID = "{0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D}"
GUID_BRACED = re.compile(r"^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$")

DEFAULT_INSTITUTIONS = [
    (1001, "Pemerintah Kota Mataram"),
    (1002, "Dinas Pekerjaan Umum dan Penataan Ruang Kota Mataram"),
    (1003, "Dinas Kesehatan Kota Mataram"),
    (2001, "Pemerintah Provinsi Nusa Tenggara Barat"),
    (9001, "Kementerian Pekerjaan Umum"),
]

FAULT_KINDS = ("error", "error_after", "lost", "reset", "timeout", "latency", "429", "malformed", "unexpected",
               "echo", "hang", "unavailable", "bad_gateway", "gateway_timeout", "gateway_timeout_after")
#: faults the gateway (SPLP) answers itself, with no body from LAPOR!: the first three before LAPOR! saw
#: the request, the last after LAPOR! did the work but answered too late for the gateway
GATEWAY_FAULTS = {"unavailable": 503, "bad_gateway": 502, "gateway_timeout": 504, "gateway_timeout_after": 504}
#: faults that do the work before failing (the client cannot tell whether it happened)
AFTER_FAULTS = {"error_after", "lost", "timeout", "malformed", "unexpected", "hang", "gateway_timeout_after"}

ROUTES = [
    ("E1", "GET", re.compile(r"^/masters/institutions/external$")),
    ("E2", "GET", re.compile(r"^/masters/templates$")),
    ("E3", "POST", re.compile(r"^/complaints/complaint/file$")),
    ("E4", "POST", re.compile(r"^/complaints/complaint$")),
    ("E5", "POST", re.compile(r"^/complaints/process/(?P<cid>[^/]+)/reject$")),
    ("E6", "GET", re.compile(r"^/complaints/(?P<cid>[^/]+)/complaint$")),
    ("E7", "GET", re.compile(r"^/complaints/(?P<cid>[^/]+)/followups$")),
    ("E8", "POST", re.compile(r"^/complaints/followup/add$")),
]


@dataclass
class Faults:
    """Random faults: ``rate`` of the calls to ``endpoints`` (all when empty) fail with one of ``kinds``."""

    rate: float = 0.0
    kinds: tuple[str, ...] = ("error", "lost", "429", "malformed")
    endpoints: tuple[str, ...] = ()
    latency: float = 0.05  # seconds for "latency"
    timeout: float = 2.0  # seconds the server stalls for "timeout" (make it longer than the client's read timeout)
    seed: int | None = None


@dataclass
class Received:
    endpoint: str
    method: str
    path: str
    query: dict
    headers: dict
    json: Any = None
    form: dict = field(default_factory=dict)
    files: list = field(default_factory=list)  # [{"field", "filename", "size", "sha256", "content_type"}]
    fault: str | None = None
    status: int | None = None
    at: float = 0.0  # time.monotonic() on arrival
    client_port: int | None = None  # the client's TCP port: requests on one kept-alive connection share it

    def text(self) -> str:
        """Everything the body carried, as one string (for privacy checks)."""
        return json.dumps({"json": self.json, "form": self.form, "query": self.query,
                           "files": [f["filename"] for f in self.files]}, ensure_ascii=False)


def _now_str() -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=7)).strftime("%d-%m-%Y %H:%M:%S")


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # no access log (headers carry credentials, paths carry ids)
        pass

    def log_error(self, *args, **kwargs):
        pass


class Simulator:
    def __init__(self, *, token: str = DEFAULT_TOKEN, guid: str = DEFAULT_GUID, auth_header: str = "auth",
                 host: str = "127.0.0.1", port: int = 0, id_placement: str = "alternate", per_page: int = 10,
                 institutions=DEFAULT_INSTITUTIONS, first_id: int = 70000, latency: float = 0.0,
                 jitter: float = 0.0):
        self.token, self.guid, self.auth_header = token, guid, auth_header
        self.host, self.port = host, port
        self.id_placement = id_placement  # "top" (complaint_id), "nested" (results.complaint.id) or "alternate"
        self.per_page = per_page
        self.institutions = {i: n for i, n in institutions}
        #: E2 template codes; E8 refuses any other template_code (as a Laravel ``in:`` rule would)
        self.templates = {"disposition": "Laporan didisposisikan ke {{institution_to}}", "followup": "Tindak lanjut"}
        self.faults = Faults()
        self.received: list[Received] = []
        self.complaints: dict[str, dict] = {}
        self.files: dict[int, dict] = {}
        self._ids = itertools.count(first_id)
        self._file_ids = itertools.count(4199656)
        self._log_ids = itertools.count(1)
        self._fu_ids = itertools.count(1)
        self._script: dict[str, list[str]] = {}
        #: seconds every answer takes (± ``jitter``), spent outside any lock: requests wait concurrently,
        #: as they would on a slow national service
        self.latency, self.jitter = latency, jitter
        self.in_flight = self.peak_in_flight = 0
        self._lock = threading.RLock()  # the in-memory state only, held for the microseconds of a handler
        self.release = threading.Event()  # "hang": the answer waits until a test sets this
        self._rng = random.Random()
        self._server = None
        self._thread = None

    # --- lifecycle ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "Simulator":
        if self.faults.seed is not None:
            self._rng.seed(self.faults.seed)
        self._server = make_server(self.host, self.port, self, threaded=True, request_handler=_QuietHandler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="lapor-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- test controls --------------------------------------------------------------------------
    def fail_next(self, endpoint: str, *kinds: str) -> None:
        """The next calls to ``endpoint`` (``E4``...) fail with these faults, in order."""
        for k in kinds:
            assert k in FAULT_KINDS, k
        with self._lock:
            self._script.setdefault(endpoint, []).extend(kinds)

    def seed(self, n: int) -> None:
        self._rng.seed(n)

    def calls(self, endpoint: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if endpoint is None or r.endpoint == endpoint]

    def received_text(self) -> str:
        with self._lock:
            return "\n".join(r.text() for r in self.received)

    def complaints_with(self, needle: str) -> list[dict]:
        """Complaints whose content contains ``needle`` (e.g. a tracking id)."""
        with self._lock:
            return [c for c in self.complaints.values() if needle in (c.get("content") or "")]

    def new_complaint(self, *, title: str, content: str, disposition_id: int = 1001, is_anonymous: bool = False,
                      is_secret: bool = False, status: str = "Belum Terverifikasi") -> str:
        """A complaint filed directly in LAPOR! (for imports)."""
        with self._lock:
            cid = str(next(self._ids))
            self.complaints[cid] = self._complaint(cid, {"title": title, "content": content,
                                                         "disposition_id": disposition_id,
                                                         "is_anonymous": is_anonymous, "is_secret": is_secret})
            self._set_status(cid, status)
            return cid

    def set_status(self, cid: str, name: str, code: int | None = None, *, at: str | None = None) -> None:
        """LAPOR! moves the complaint to status ``name`` (a log entry dated ``at``, ``d-m-Y H:i:s`` WIB,
        default now)."""
        with self._lock:
            self._set_status(str(cid), name, code, at=at)

    def add_followup(self, cid: str, content: str, *, institution_from: int | None = None,
                     template_code: str = "followup", attachments: list[dict] | None = None,
                     with_id: bool = True, at: str | None = None) -> dict:
        """An institution answers (a follow-up dated ``at``, ``d-m-Y H:i:s`` WIB, default now)."""
        with self._lock:
            c = self.complaints[str(cid)]
            src = institution_from or int(c["disposition_id"])
            fu = {"institution_from_name": self.institutions.get(src, f"Instansi {src}"),
                  "institution_to_name": "Pelapor", "template_code": template_code,
                  "template_content": "Tindak lanjut" if template_code != "disposition" else "Disposisi",
                  "content": content, "attachments": attachments or [], "rating": 0, "is_secret": c["is_secret"],
                  "created_at": at or _now_str()}
            if with_id:
                fu["id"] = next(self._fu_ids)
            c["followups"].append(fu)
            return fu

    def add_reporter_followup(self, cid: str, content: str, *, at: str | None = None) -> dict:
        """The reporter writes in LAPOR! (answers a question): an entry from no institution."""
        with self._lock:
            c = self.complaints[str(cid)]
            fu = {"id": next(self._fu_ids), "institution_from_name": None,
                  "institution_to_name": self._inst_name(c["disposition_id"]), "template_code": "followup",
                  "template_content": "Tanggapan pelapor", "content": content, "attachments": [], "rating": 0,
                  "is_secret": c["is_secret"], "created_at": at or _now_str()}
            c["followups"].append(fu)
            return fu

    # --- state helpers ------------------------------------------------------------------------
    STATUS_CODES = {"Belum Terverifikasi": 0, "Terverifikasi": 1, "Sudah Terverifikasi": 1, "Dalam Proses": 2,
                    "Selesai": 3, "Diarsipkan": 4, "Ditolak": 5}

    def _complaint(self, cid: str, body: dict) -> dict:
        return {"id": int(cid), "tracking_id": f"L{cid}", "title": body.get("title"), "content": body.get("content"),
                "disposition_id": int(body.get("disposition_id") or 0), "is_anonymous": bool(body.get("is_anonymous")),
                "is_secret": bool(body.get("is_secret")), "status_name": None, "status_code": None,
                "logs": [], "followups": [], "body": body, "created_at": _now_str()}

    def _set_status(self, cid: str, name: str, code: int | None = None, *, at: str | None = None) -> None:
        c = self.complaints[cid]
        old = c["status_name"]
        c["status_name"], c["status_code"] = name, code if code is not None else self.STATUS_CODES.get(name, 99)
        inst = self.institutions.get(c["disposition_id"], "Instansi")
        c["logs"].append({"id": next(self._log_ids),
                          "content": "Status laporan diubah dari {{status_old}} menjadi {{status_new}} oleh "
                                     "{{institution_from}}",
                          "institution_from_name": inst, "institution_to_name": inst,
                          "institution_to": {"id": c["disposition_id"], "name": inst},
                          "data": json.dumps({"status_old": {"name": old or "-"}, "status_new": {"name": name}}),
                          "created_at": at or _now_str()})

    def _inst_name(self, i) -> str:
        return self.institutions.get(int(i), f"Instansi {i}")

    # --- WSGI ------------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        req = Request(environ)
        endpoint, match = None, None
        for ep, method, rx in ROUTES:
            m = rx.match(req.path)
            if m and req.method == method:
                endpoint, match = ep, m
                break
        rec = self._record(req, endpoint or "?")
        if endpoint is None:
            return self._json({"message": "Not Found"}, 404, rec)(environ, start_response)
        if not self._authorised(req):
            return self._json({"message": "Unauthenticated."}, 401, rec)(environ, start_response)
        fault = self._pick_fault(endpoint)
        rec.fault = fault
        if fault == "reset":
            self._drop(environ)
        if fault == "error":  # LAPOR! (Laravel) itself fails before doing anything
            return self._json({"message": "Server Error"}, 500, rec)(environ, start_response)
        if fault in GATEWAY_FAULTS and fault not in AFTER_FAULTS:
            return self._gateway(fault, rec)(environ, start_response)
        if fault == "echo":  # a careless gateway that repeats our credentials in its error
            return self._json({"message": f"Header tidak valid: {req.headers.get(self.auth_header)} "
                                          f"token={req.headers.get('token')}",
                               "errors": {"token": [f"{req.headers.get('token')} ditolak"]}}, 422, rec)(
                environ, start_response)
        if fault == "429":
            resp = self._json({"message": "Too Many Attempts."}, 429, rec)
            resp.headers["Retry-After"] = "0"
            return resp(environ, start_response)
        delay = self.latency + (self._rng.uniform(-self.jitter, self.jitter) if self.jitter else 0.0)
        if fault == "latency":
            delay += self.faults.latency
        if delay > 0:
            with self._lock:
                self.in_flight += 1
                self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            try:
                time.sleep(delay)
            finally:
                with self._lock:
                    self.in_flight -= 1
        with self._lock:
            resp = getattr(self, "_" + endpoint.lower())(req, match, rec)
        rec.status = resp.status_code
        if fault in AFTER_FAULTS and resp.status_code < 300:
            if fault == "lost":
                self._drop(environ)
            if fault == "timeout":
                time.sleep(self.faults.timeout)
            if fault == "hang":
                self.release.wait(30)
            if fault == "error_after":
                resp = self._json({"message": "Bad Gateway"}, 502, rec)
            if fault == "malformed":
                resp = Response("<html><body>Gateway error: upstream returned garbage", 200, mimetype="text/html")
            if fault == "unexpected":
                resp = self._json({"status": "ok", "results": "Berhasil"}, 200, rec)
            if fault == "gateway_timeout_after":
                resp = self._gateway(fault, rec)
        return resp(environ, start_response)

    def _record(self, req: Request, endpoint: str) -> Received:
        files = []
        for name, st in req.files.items(multi=True):
            content = st.read()
            files.append({"field": name, "filename": st.filename, "size": len(content),
                          "sha256": hashlib.sha256(content).hexdigest(), "content_type": st.mimetype,
                          "content": content})
        body = None
        if req.is_json:
            body = req.get_json(silent=True)
        port = req.environ.get("REMOTE_PORT")
        rec = Received(endpoint=endpoint, method=req.method, path=req.path, query=dict(req.args),
                       headers=dict(req.headers), json=body, form=dict(req.form), files=files, at=time.monotonic(),
                       client_port=int(port) if str(port or "").isdigit() else None)
        with self._lock:
            self.received.append(rec)
        return rec

    def _authorised(self, req: Request) -> bool:
        bearer = req.headers.get(self.auth_header, "")
        guid = req.headers.get("token", "")
        return bearer == f"Bearer {self.token}" and bool(GUID_BRACED.match(guid)) and guid.upper() == self.guid.upper()

    def _pick_fault(self, endpoint: str) -> str | None:
        with self._lock:
            queue = self._script.get(endpoint)
            if queue:
                return queue.pop(0)
            f = self.faults
            if f.rate and (not f.endpoints or endpoint in f.endpoints) and self._rng.random() < f.rate:
                return self._rng.choice(list(f.kinds))
        return None

    @staticmethod
    def _gateway(fault: str, rec: Received) -> Response:
        """What an API gateway answers on its own: an empty body (503, 504) or its HTML page (502)."""
        rec.status = GATEWAY_FAULTS[fault]
        if fault == "bad_gateway":
            return Response("<html><body><h1>502 Bad Gateway</h1></body></html>", 502, mimetype="text/html")
        return Response(b"", GATEWAY_FAULTS[fault])

    @staticmethod
    def _drop(environ):
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        raise ConnectionResetError("simulated: connection dropped")

    @staticmethod
    def _json(obj, status=200, rec: Received | None = None) -> Response:
        if rec is not None:
            rec.status = status
        return Response(json.dumps(obj, ensure_ascii=False), status, mimetype="application/json")

    def _page(self, req: Request, items: list, per_page: int) -> dict:
        try:
            page = max(1, int(req.args.get("page", 1)))
        except ValueError:
            page = 1
        total = len(items)
        last = max(1, -(-total // per_page))
        start = (page - 1) * per_page
        chunk = items[start:start + per_page]
        base = f"{req.host_url.rstrip('/')}{req.path}"

        def link(p):
            q = {k: v for k, v in req.args.items() if k != "page"}
            q["page"] = p
            return f"{base}?{urlencode(q)}"

        return {"current_page": page, "data": chunk, "first_page_url": link(1), "from": start + 1 if chunk else None,
                "last_page": last, "last_page_url": link(last), "next_page_url": link(page + 1) if page < last else None,
                "path": base, "per_page": per_page, "prev_page_url": link(page - 1) if page > 1 else None,
                "to": start + len(chunk) if chunk else None, "total": total}

    def _need(self, cid: str):
        c = self.complaints.get(cid)
        if c is None:
            return None, self._json({"message": "Laporan tidak ditemukan"}, 404)
        return c, None

    # E1
    def _e1(self, req, m, rec):
        try:
            size = int(req.args.get("page_size", 15))
        except ValueError:
            size = 15
        rows = [{"id": i, "name": n, "type": "external"} for i, n in sorted(self.institutions.items())]
        return self._json({"success": True, "results": self._page(req, rows, max(1, size))})

    # E2
    def _e2(self, req, m, rec):
        rows = [{"id": i, "code": code, "content": text} for i, (code, text) in enumerate(self.templates.items(), 1)]
        return self._json({"success": True, "results": self._page(req, rows, 1000)})

    # E3
    def _e3(self, req, m, rec):
        if req.mimetype != "multipart/form-data":
            return self._json({"message": "multipart/form-data expected"}, 415)
        items = [f for f in req.files.items(multi=True) if f[0] == "attachments[]"]
        if not items:
            return self._json({"message": "The given data was invalid.",
                               "errors": {"attachments": ["The attachments field is required."]}}, 422)
        images, docs = [], []
        for f in rec.files:
            fid = next(self._file_ids)
            self.files[fid] = {k: v for k, v in f.items()}
            (images if (f["content_type"] or "").startswith("image/") else docs).append(
                {"id": fid, "file_name": f["filename"]})
        return self._json({"success": True, "results": {"images": images, "docs": docs}})

    # E4
    def _e4(self, req, m, rec):
        if not req.is_json:
            return self._json({"message": "application/json expected"}, 415)
        body = req.get_json(silent=True)
        if not isinstance(body, dict):
            return self._json({"message": "The given data was invalid.", "errors": {"body": ["JSON expected"]}}, 422)
        errors = {}
        for k in ("title", "content", "disposition_id"):
            if body.get(k) in (None, ""):
                errors[k] = [f"The {k} field is required."]
        att = body.get("attachments")
        if att is not None:
            try:
                ids = json.loads(att) if isinstance(att, str) else None
            except ValueError:
                ids = None
            if not isinstance(ids, list) or any(int(i) not in self.files for i in ids):
                errors["attachments"] = ["The attachments must be a JSON array (string) of uploaded file ids."]
        for k in ("channel", "classification_id", "category_id", "location_id", "disposition_id", "user_id"):
            if k in body and not (isinstance(body[k], int) and not isinstance(body[k], bool)):
                errors[k] = [f"The {k.replace('_', ' ')} must be an integer."]
        if "date_of_incident" in body:
            try:
                dt.date.fromisoformat(str(body["date_of_incident"]))
            except ValueError:
                errors["date_of_incident"] = ["The date of incident is not a valid date."]
        if body.get("is_new_user_slider") is True and not body.get("nameUser"):
            errors["nameUser"] = ["The name user field is required."]
        if body.get("is_new_user_slider") is False and not body.get("user_id"):
            errors["user_id"] = ["The user id field is required."]
        if errors:
            return self._json({"message": "The given data was invalid.", "errors": errors}, 422)
        cid = str(next(self._ids))
        self.complaints[cid] = self._complaint(cid, body)
        self._set_status(cid, "Belum Terverifikasi")
        nested = {"success": True, "results": {"complaint": {"id": int(cid), "tracking_id": f"L{cid}"}}}
        top = {"success": True, "complaint_id": int(cid), "results": {"message": "Laporan berhasil dibuat"}}
        placement = self.id_placement
        if placement == "alternate":
            placement = "top" if int(cid) % 2 else "nested"
        return self._json(top if placement == "top" else nested)

    # E5
    def _e5(self, req, m, rec):
        if not req.is_json:
            return self._json({"message": "application/json expected"}, 415)
        c, err = self._need(m["cid"])
        if err:
            return err
        body = req.get_json(silent=True) or {}
        flags = {k: ["The " + k.replace("_", " ") + " must be 1."] for k in ("is_request", "not_authority")
                 if str(body.get(k)) != "1"}
        if flags:
            return self._json({"message": "The given data was invalid.", "errors": flags}, 422)
        try:
            target = int(body.get("reason"))
        except (TypeError, ValueError):
            return self._json({"message": "The given data was invalid.",
                               "errors": {"reason": ["The reason must be an institution id."]}}, 422)
        if target not in self.institutions:
            return self._json({"message": "Instansi tidak ditemukan", "success": False}, 422)
        old = c["disposition_id"]
        c["disposition_id"] = target
        c.setdefault("forwards", []).append(target)
        c["logs"].append({"id": next(self._log_ids),
                          "content": "Laporan diteruskan dari {{institution_from}} ke {{institution_to}}",
                          "institution_from_name": self._inst_name(old), "institution_to_name": self._inst_name(target),
                          "institution_to": {"id": target, "name": self._inst_name(target)},
                          "data": json.dumps({"status_old": {"name": c["status_name"]},
                                              "status_new": {"name": c["status_name"]}}),
                          "created_at": _now_str()})
        return self._json({"success": True, "results": {"message": "Laporan berhasil diteruskan"}})

    # E6
    def _e6(self, req, m, rec):
        c, err = self._need(m["cid"])
        if err:
            return err
        data = {"id": c["id"], "tracking_id": c["tracking_id"], "title": c["title"], "content": c["content"],
                "is_anonymous": c["is_anonymous"], "is_secret": c["is_secret"], "status_code": c["status_code"],
                "status_name": c["status_name"], "disposition_id": c["disposition_id"],
                "disposition_name": self._inst_name(c["disposition_id"]), "created_at": c["created_at"],
                "rating": None}
        return self._json({"success": True, "results": {"data": data, "data_logs": list(c["logs"])}})

    # E7
    def _e7(self, req, m, rec):
        c, err = self._need(m["cid"])
        if err:
            return err
        return self._json({"success": True, "results": self._page(req, list(c["followups"]), self.per_page)})

    # E8
    def _e8(self, req, m, rec):
        if req.mimetype != "multipart/form-data":
            return self._json({"message": "multipart/form-data expected"}, 415)
        f = req.form
        errors = {k: [f"The {k} field is required."] for k in ("complaint_id", "content") if not f.get(k)}
        for k in ("user_id", "institution_from_id", "institution_to_id", "rating", "is_secret"):
            if k in f and not f[k].isdigit():
                errors[k] = [f"The {k.replace('_', ' ')} must be an integer."]
        if f.get("template_code") and f["template_code"] not in self.templates:
            errors["template_code"] = ["The selected template code is invalid."]
        if errors:
            return self._json({"message": "The given data was invalid.", "errors": errors}, 422)
        c, err = self._need(f["complaint_id"])
        if err:
            return err
        fu = {"id": next(self._fu_ids), "institution_from_name": self._inst_name(f.get("institution_from_id") or 0),
              "institution_to_name": self._inst_name(f.get("institution_to_id") or 0),
              "template_code": f.get("template_code"), "template_content": "Tindak lanjut", "content": f["content"],
              "attachments": [{"path": f"{req.host_url}storage/{x['sha256']}", "file_name": x["filename"]}
                              for x in rec.files],
              "rating": int(f.get("rating") or 0), "is_secret": f.get("is_secret") == "1", "created_at": _now_str()}
        c["followups"].append(fu)
        return self._json({"success": True, "results": {"id": fu["id"]}})


def main(argv=None) -> None:  # pragma: no cover - manual use
    import argparse

    p = argparse.ArgumentParser(description="SP4N-LAPOR! v3 simulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--token", default=DEFAULT_TOKEN)
    p.add_argument("--guid", default=DEFAULT_GUID)
    p.add_argument("--auth-header", default="auth", choices=["auth", "Authorization"])
    p.add_argument("--error-rate", type=float, default=0.0)
    p.add_argument("--latency", type=float, default=0.0, help="milliseconds every answer takes")
    p.add_argument("--jitter", type=float, default=0.0, help="± milliseconds around --latency")
    a = p.parse_args(argv)
    serve(a.host, a.port, a.token, a.guid, a.auth_header, a.error_rate, latency_ms=a.latency, jitter_ms=a.jitter)


def serve(host, port, token, guid, auth_header, error_rate, echo=print, *, latency_ms: float = 0.0,
          jitter_ms: float = 0.0) -> None:  # pragma: no cover - manual use
    sim = Simulator(token=token, guid=guid, auth_header=auth_header, host=host, port=port,
                    latency=max(0.0, latency_ms) / 1000, jitter=max(0.0, min(jitter_ms, latency_ms)) / 1000)
    sim.faults.rate = error_rate
    sim.start()
    echo(f"SP4N-LAPOR! simulator on {sim.url} (auth header {auth_header!r}"
         + (f", {latency_ms:g} ± {jitter_ms:g} ms per answer" if latency_ms else "") + "); Ctrl-C stops it")
    echo(f"  ADUAN_LAPOR_BASE_URL={sim.url} ADUAN_LAPOR_AUTH_HEADER={auth_header} ADUAN_LAPOR_INSTITUTION_ID=1001")
    echo("  ADUAN_LAPOR_BEARER_TOKEN and ADUAN_LAPOR_TOKEN_GUID: the same values the simulator was given")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        sim.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
