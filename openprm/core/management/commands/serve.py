"""`prm serve`: gunicorn, with the job worker alongside under a supervisor that restarts it if it dies."""

from __future__ import annotations

import atexit
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

logger = logging.getLogger("openprm.serve")


class WorkerSupervisor:
    """Runs ``command`` as a child process and restarts it whenever it exits, until ``stop()``.

    A thread polls the child every ``poll`` seconds. Each restart is logged with the exit code; restarts
    back off (``backoff`` seconds, doubled after every exit within ``stable`` seconds of its start, at most
    ``max_backoff``) so a worker that cannot start does not spin. ``stop()`` terminates the child (then
    kills it after ``grace`` seconds); it only acts in the process that started the supervisor, never in a
    forked gunicorn worker that inherited it. (Under gunicorn the arbiter may reap the child first: its
    exit code then reads 0, but the exit is seen and the worker restarted all the same.)
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        poll: float = 1.0,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        stable: float = 30.0,
        grace: float = 10.0,
        log: Callable[[str], None] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.command = list(command)
        self.poll, self.backoff, self.max_backoff, self.stable, self.grace = (
            poll,
            backoff,
            max_backoff,
            stable,
            grace,
        )
        self.log = log or logger.warning
        self.env = env
        self.restarts = 0
        self.child: subprocess.Popen[bytes] | None = None
        self._owner = os.getpid()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)

    def start(self) -> WorkerSupervisor:
        self._spawn()
        self._thread.start()
        return self

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            # its own session: a Ctrl-C reaches the server, which stops the worker through stop()
            self.child = subprocess.Popen(self.command, env=self.env, start_new_session=True)  # noqa: S603
            self._started = time.monotonic()

    def _watch(self) -> None:
        delay = self.backoff
        while not self._stopping.wait(self.poll):
            child = self.child
            if child is None or child.poll() is None:
                continue
            lived = time.monotonic() - self._started
            delay = self.backoff if lived >= self.stable else delay
            self.log(
                f"Job worker (pid {child.pid}) exited with code {child.returncode} after {lived:.0f} s; "
                f"restarting it in {delay:g} s."
            )
            if self._stopping.wait(delay):
                return
            self._spawn()
            self.restarts += 1
            delay = min(delay * 2, self.max_backoff)

    def stop(self) -> None:
        if os.getpid() != self._owner:  # a forked child (gunicorn worker) exiting: not ours to stop
            return
        self._stopping.set()
        with self._lock:
            child = self.child
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=self.grace)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=self.poll + 1)


class Command(BaseCommand):
    help = "Serve OpenPRM with gunicorn (production WSGI server)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=settings.PRM_BIND, help="host:port (PRM_BIND)")
        parser.add_argument(
            "--workers", type=int, default=settings.PRM_WORKERS, help="processes (PRM_WORKERS)"
        )
        parser.add_argument("--threads", type=int, default=settings.PRM_THREADS, help="threads per process")
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not start the job worker alongside (run `prm worker` yourself, e.g. elsewhere).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from gunicorn.app.base import BaseApplication

        from openprm.core.staticfiles import static_collect_if_stale

        # Before the application loads: whitenoise indexes the collected files when it starts.
        if static_collect_if_stale():  # a fresh PRM_VAR_DIR, or static files added since the last run
            self.stdout.write("Static files collected.")
        from config.wsgi import application

        config = {
            "bind": options["bind"],
            "workers": options["workers"],
            "threads": options["threads"],
            "worker_class": "gthread",
            "accesslog": "-",
            "errorlog": "-",
            "timeout": 120,
            "graceful_timeout": 10,
            "forwarded_allow_ips": "127.0.0.1",
        }

        class OpenPRMServer(BaseApplication):
            def load_config(self) -> None:
                for key, value in config.items():
                    self.cfg.set(key, value)

            def load(self) -> Any:
                return application

        if not options["no_worker"] and not settings.HUEY.get("immediate"):
            supervisor = WorkerSupervisor(
                [sys.executable, "-m", "openprm.cli", "worker", "--quiet"],
                log=lambda message: self.stderr.write(message),
            ).start()
            atexit.register(supervisor.stop)
            self.stdout.write(
                "Job worker started and supervised (restarted if it dies); --no-worker to run it apart."
            )
        self.stdout.write(f"OpenPRM serving on http://{options['bind']}/  (Ctrl-C stops)")
        OpenPRMServer().run()
