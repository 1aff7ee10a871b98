"""A real worker process for tests/test_worker.py (and the plugin it runs).

Run as a script, it builds the app on the given database with the :class:`FileJobs` plugin and
runs ``Worker(app).run_forever()`` until SIGTERM/SIGINT (or ``kill -9``)::

    python tests/helpers_worker.py --db-url URL --instance DIR --log FILE [--release FILE] [--lease S] [--concurrency N]

The job kind ``wtest.record`` appends ``start <job id> <pid>`` to the log, waits until the
release file exists (when one is given), then appends ``end <job id> <pid>``. The log is the
handler's externally visible side effect: a test reads it to count starts and completions.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from aduan import hookimpl

KIND = "wtest.record"


def append_line(path: str, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_lines(path: str) -> list[list[str]]:
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        return [ln.split() for ln in fh.read().splitlines() if ln.strip()]


class FileJobs:
    """Test plugin: one job kind whose side effect is a line in a log file."""

    name = "wtest_file"

    def __init__(self, log_path: str, release_path: str | None = None, max_wait: float = 120.0):
        self.log_path = log_path
        self.release_path = release_path
        self.max_wait = max_wait

    @hookimpl
    def register_jobs(self):
        from aduan import JobKind

        return {KIND: JobKind(self.record, ordered=False)}  # independent jobs: side by side with concurrency

    def record(self, app, payload, job):
        append_line(self.log_path, f"start {job.id} {os.getpid()}")
        if self.release_path:
            deadline = time.monotonic() + self.max_wait
            while not os.path.exists(self.release_path):
                if time.monotonic() > deadline:
                    raise RuntimeError("release file never appeared")
                time.sleep(0.02)
        append_line(self.log_path, f"end {job.id} {os.getpid()}")


def build_app(db_url: str, instance: str, plugin, lease: float, concurrency: int = 1):
    from aduan.app import create_app

    return create_app({"DATABASE_URL": db_url, "INSTANCE_PATH": instance, "SECRET_KEY": "test-secret",
                       "JOB_LEASE_SECONDS": lease, "WORKER_POLL_SECONDS": 0.05, "JOB_BACKOFF_BASE": 0,
                       "WORKER_CONCURRENCY": concurrency}, plugins=[plugin])


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--db-url", required=True)
    p.add_argument("--instance", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--release")
    p.add_argument("--lease", type=float, default=300)
    p.add_argument("--concurrency", type=int, default=1)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s worker[%(process)d] %(levelname)s %(message)s")
    from aduan.jobs import Worker

    app = build_app(args.db_url, args.instance, FileJobs(args.log, args.release), args.lease, args.concurrency)
    Worker(app).run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
