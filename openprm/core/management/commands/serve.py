from __future__ import annotations

import atexit
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


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
            worker = subprocess.Popen([sys.executable, "-m", "openprm.cli", "worker", "--quiet"])
            atexit.register(worker.terminate)
            self.stdout.write("Job worker started (rollups, background jobs); --no-worker to run it apart.")
        self.stdout.write(f"OpenPRM serving on http://{options['bind']}/  (Ctrl-C stops)")
        OpenPRMServer().run()
