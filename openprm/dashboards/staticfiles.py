"""Serves the chart library from ``node_modules`` (installed by ``make setup`` from the npm lockfile) as a
local static file: ``vendor/echarts/echarts.min.js``. Nothing third-party is copied into the repository,
nothing comes from a CDN; ``collectstatic`` picks the file up like any app's static file.

Only the files listed in :data:`FILES` are exposed (not the whole package). Without ``node_modules`` the
finder finds nothing and the dashboards' charts say so (see ``dashboards.js``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

from openprm.dashboards.node import NODE_MODULES

PREFIX = "vendor/echarts"
FILES = {"echarts.min.js": NODE_MODULES / "echarts" / "dist"}


class NodeModulesFinder(BaseFinder):
    """A static files finder for the few files of ``node_modules`` the pages load."""

    def _storage(self, folder: Any) -> FileSystemStorage:
        storage = FileSystemStorage(location=str(folder))
        storage.prefix = PREFIX  # type: ignore[attr-defined]  # collectstatic copies under the prefix
        return storage

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        find_all = find_all or bool(kwargs.get("all"))
        found: list[str] = []
        prefix = PREFIX + "/"
        if path.startswith(prefix):
            name = path[len(prefix) :]
            folder = FILES.get(name)
            if folder is not None and (folder / name).is_file():
                found.append(str(folder / name))
        if find_all:
            return found
        return found[0] if found else []

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        for name, folder in FILES.items():
            if (folder / name).is_file():
                yield name, self._storage(folder)
