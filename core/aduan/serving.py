"""``aduan serve``: waitress with a graceful stop.

On SIGTERM (or SIGINT) a web process:

1. accepts the connections already waiting in the kernel's queue, then closes its listening socket
   (new connections are refused at once, so a load balancer or ``nginx`` ``proxy_next_upstream``
   sends them to another process);
2. closes idle keep-alive connections, and answers the requests it holds with ``Connection: close``;
3. keeps answering the requests it has already received until they are done, at most
   ``SHUTDOWN_GRACE_SECONDS`` (30), then exits with status 0.

A restart under load therefore loses no request (``tests/test_ops_restart.py`` sends requests across
restarts of two web processes and counts the answers).
"""
from __future__ import annotations

import logging
import signal
import threading
import time

log = logging.getLogger("aduan.serve")


def _listeners(server) -> list:
    from waitress.server import BaseWSGIServer

    if isinstance(server, BaseWSGIServer):
        return [server]
    return [s for s in server.map.values() if isinstance(s, BaseWSGIServer)]


#: A connection accepted but silent for this long during a stop is closed (its client never sent a request).
FRESH_WAIT = 2.0


def _busy(channel) -> bool:
    if channel.requests or channel.request is not None or channel.total_outbufs_len:
        return True
    # Accepted, nothing read yet: its request is on the way (the client already sent it, or will).
    return channel.last_activity == channel.creation_time and time.time() - channel.creation_time < FRESH_WAIT


class GracefulServer:
    """A waitress server whose ``run`` returns after a graceful stop (:meth:`stop` or SIGTERM)."""

    def __init__(self, app, *, host: str, port: int, threads: int = 8, grace: float = 30.0, **adjustments):
        from waitress import create_server

        self.server = create_server(app, host=host, port=port, threads=threads, ident="aduan", **adjustments)
        self.listeners = _listeners(self.server)
        self.map = self.listeners[0]._map
        # waitress counts its own sockets (listeners, wake-up trigger) against connection_limit:
        # the limit configured is the number of client connections.
        self.listeners[0].adj.connection_limit = self.listeners[0].adj.connection_limit + len(self.map)
        self.dispatcher = self.listeners[0].task_dispatcher
        self.grace = grace
        self.stopping = threading.Event()

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [(s.effective_host, s.effective_port) for s in self.listeners]

    def stop(self, *_args) -> None:
        """Ask for a graceful stop (safe from a signal handler: it only sets a flag)."""
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def _channels(self) -> list:
        return [c for c in list(self.map.values()) if hasattr(c, "requests")]

    def run(self) -> None:
        from waitress import wasyncore

        adj = self.listeners[0].adj
        timeout = min(adj.asyncore_loop_timeout, 0.2)
        while not self.stopping.is_set():
            wasyncore.loop(timeout=timeout, map=self.map, use_poll=adj.asyncore_use_poll, count=1)
        deadline = time.monotonic() + self.grace
        for listener in self.listeners:
            # Take in what the kernel already queued for us, then stop listening.
            listener.socket.setblocking(False)
            for _ in range(adj.backlog):
                before = len(self.map)
                listener.handle_accept()
                if len(self.map) == before:
                    break
            wasyncore.dispatcher.close(listener)  # not listener.close(): the trigger must keep working
        in_flight = sum(_busy(c) for c in self._channels())
        log.info("stopping: no longer accepting; %d request(s) in flight", in_flight,
                 extra={"in_flight": in_flight})
        while True:
            channels = self._channels()
            for c in channels:
                if not _busy(c):
                    c.handle_close()  # idle keep-alive connection (or one whose answer is sent)
                    continue
                # Answer with "Connection: close" so the client opens its next request elsewhere
                # (a request whose headers are still arriving gets it on a later pass).
                for req in [*c.requests, c.request]:
                    if req is not None and req.headers_finished:
                        req.headers["CONNECTION"] = "close"
            if not any(_busy(c) for c in self._channels()):
                break
            if time.monotonic() >= deadline:
                log.warning("stopping: %d connection(s) still busy after %.0f s, closing them",
                            sum(_busy(c) for c in self._channels()), self.grace)
                break
            wasyncore.loop(timeout=timeout, map=self.map, use_poll=adj.asyncore_use_poll, count=1)
        self.dispatcher.shutdown(cancel_pending=True, timeout=max(0.0, deadline - time.monotonic()) + 1)
        for c in self._channels():
            c.handle_close()
        log.info("stopped")


def adjustments(config, **overrides) -> dict:
    """waitress settings from the ``SERVE_*`` configuration, with ``overrides`` (command-line options)
    taking precedence when not ``None``. ``poll()`` replaces ``select()`` so more than 1024 connections work."""
    out = {"threads": config.get("SERVE_THREADS", 8),
           "connection_limit": config.get("SERVE_CONNECTION_LIMIT", 1000),
           "backlog": config.get("SERVE_BACKLOG", 2048),
           "channel_timeout": config.get("SERVE_CHANNEL_TIMEOUT", 60),
           "asyncore_use_poll": True}
    out.update({k: v for k, v in overrides.items() if v is not None})
    # waitress looks for idle connections every cleanup_interval (30 s): often enough for the timeout
    out["cleanup_interval"] = max(1, min(30, int(out["channel_timeout"] // 2)))
    return out


def serve(app, *, host: str, port: int, threads: int | None = None, grace: float | None = None) -> None:
    """Serve until SIGTERM/SIGINT, then stop gracefully (see the module docstring)."""
    adj = adjustments(app.config, threads=threads)
    srv = GracefulServer(app, host=host, port=port, threads=adj.pop("threads"),
                         grace=app.config.get("SHUTDOWN_GRACE_SECONDS", 30) if grace is None else grace, **adj)
    srv.install_signal_handlers()
    for h, p in srv.addresses:
        log.info("listening on http://%s:%s/", h, p)
    srv.run()
