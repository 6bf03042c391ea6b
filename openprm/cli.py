"""The `prm` command: Django's management commands plus OpenPRM's own (serve, demo, import, export...)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else ["prm", *argv])
    args[0] = "prm"
    if len(args) > 2 and args[1] == "token":  # `prm token create` → the `token` command's subcommand
        args = [args[0], "token", *args[2:]]
    try:
        execute_from_command_line(args)
    except BrokenPipeError:  # e.g. `prm export partners | head`: the reader left, nothing went wrong
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
