#!/usr/bin/env python
"""How many pushed complaints need an operator when LAPOR! misbehaves (issue #12 item 7).

Pushes N complaints through the simulator while 30 % of the creates (E4) fail and 10 % lose their
answer, then counts the complaints whose create ended ``uncertain`` (an operator must look in LAPOR!
and link or resend them). Runs twice on the same seed: ``before`` treats every 5xx as uncertain
(``LAPOR_NOT_CREATED_STATUSES=[]``, the old behaviour), ``after`` uses the defaults (502/503/504
answered by the gateway without a LAPOR! body are retried automatically).

The failures are spread evenly over four kinds: the gateway answering 503, 502 (its HTML page) or
504 with an empty body before LAPOR! saw the request, and LAPOR! itself answering 500 with its JSON
error body. Lost answers: LAPOR! creates the complaint and the connection drops before its answer.

    .venv/bin/python plugins/lapor/bench/operator_load.py [--n 300] [--seed 12]

Counts, not times: the figures do not depend on the machine. Runs on a temporary SQLite database.
"""
from __future__ import annotations

import argparse
import logging
import pathlib
import tempfile

FAILURES = ("unavailable", "bad_gateway", "gateway_timeout", "error")


def run(n: int, seed: int, not_created: list[int] | None) -> dict[str, int]:
    from aduan.auth import Actor
    from aduan.db import database
    from aduan.services import file_complaint, perform
    from aduan.testing import build_test_app, seed_basics
    from aduan_lapor.models import LaporTicket
    from aduan_lapor.simulator import DEFAULT_GUID, DEFAULT_TOKEN, Simulator
    from aduan_lapor.testing import drain

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="aduan-lapor-load-"))
    sim = Simulator().start()
    cfg = {"PLUGINS": ["lapor"], "DATABASE_URL": "sqlite:///" + str(tmp / "load.db"), "LAPOR_BASE_URL": sim.url,
           "LAPOR_BEARER_TOKEN": DEFAULT_TOKEN, "LAPOR_TOKEN_GUID": DEFAULT_GUID, "LAPOR_INSTITUTION_ID": 1001,
           "LAPOR_POLL_SECONDS": 3600, "LAPOR_READ_TIMEOUT": 2.0, "LAPOR_CONNECT_TIMEOUT": 1.0,
           "JOB_BACKOFF_BASE": 0, "JOB_BACKOFF_MAX": 0, "JOB_LEASE_SECONDS": 60}
    if not_created is not None:
        cfg["LAPOR_NOT_CREATED_STATUSES"] = not_created
    try:
        app = build_test_app(tmp, cfg)
        coordinator = Actor(role="coordinator", username="koord")
        tids = []
        with app.app_context(), database.connection_context():
            seed_basics()
            for i in range(n):
                c, _ = file_complaint({"title": f"Aduan {i}", "body": f"Lampu jalan mati di gang {i}.",
                                       "category": "jalan"}, actor=Actor(role="reporter"), channel="web")
                perform(c, "verify", coordinator)
                tids.append(c.tracking_id)
        # 40 % of creates misbehave: 3/4 of them fail (30 %), 1/4 lose the answer (10 %)
        sim.faults.rate = 0.4
        sim.faults.kinds = FAILURES * 3 + ("lost",) * 4
        sim.faults.endpoints = ("E4",)
        sim.seed(seed)
        drain(app, rounds=500)
        with app.app_context(), database.connection_context():
            states = [t.state for t in LaporTicket.select()]
        return {"complaints": n, "operator": states.count("uncertain"), "created": states.count("created"),
                "duplicates": sum(len(sim.complaints_with(t)) > 1 for t in tids),
                "creates_sent": len(sim.calls("E4"))}
    finally:
        sim.stop()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--seed", type=int, default=12)
    a = p.parse_args(argv)
    logging.disable(logging.WARNING)  # every uncertain create logs a warning: the table says it all
    before = run(a.n, a.seed, [])
    after = run(a.n, a.seed, None)
    print(f"{'':<8}{'complaints':>11}{'need operator':>15}{'share':>8}{'created':>9}{'duplicates':>11}{'E4 sent':>9}")
    for name, r in (("before", before), ("after", after)):
        print(f"{name:<8}{r['complaints']:>11}{r['operator']:>15}{r['operator'] / r['complaints']:>8.1%}"
              f"{r['created']:>9}{r['duplicates']:>11}{r['creates_sent']:>9}")


if __name__ == "__main__":
    main()
