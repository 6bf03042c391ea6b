"""Uploaded files waiting between the preview and the confirmation of an import.

A pending import is a file ``VAR_DIR/imports/<uuid>`` plus ``<uuid>.json`` (who uploaded it, where, and,
once imported, the result). It belongs to the uploading user in their workspace; anyone else gets the
same "missing" answer as for an unknown id. Never stored in the session.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.integrations.services.runner import ImportResult

PENDING_TTL = datetime.timedelta(days=1)
KEPT_RESULT_ERRORS = 200


class PendingImportMissing(Exception):
    """No pending import with this id for this user (or it expired)."""


def imports_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class PendingImport:
    token: str
    kind: str
    user_id: int
    workspace_id: int
    filename: str
    size: int
    uploaded_at: str
    result: dict[str, Any] | None = field(default=None)

    @property
    def data_path(self) -> Path:
        return imports_dir() / self.token

    @property
    def meta_path(self) -> Path:
        return imports_dir() / f"{self.token}.json"

    def open(self) -> IO[bytes]:
        return self.data_path.open("rb")

    def _write_meta(self) -> None:
        temporary = self.meta_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self)), encoding="utf-8")
        temporary.replace(self.meta_path)


def _clean_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._ -]+", "_", name)[-120:] or "upload.csv"


def _purge_expired() -> None:
    cutoff = timezone.now().timestamp() - PENDING_TTL.total_seconds()
    for path in imports_dir().iterdir():
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()


def pending_import_save(*, actor: Actor, upload: UploadedFile, kind: str = "partners") -> PendingImport:
    """Store an uploaded file (streamed to disk in chunks) for the actor to preview and confirm."""
    limit = settings.PRM_MAX_IMPORT_BYTES
    if upload.size is not None and upload.size > limit:
        raise ValidationError({"file": f"The file is larger than {limit // 2**20} MB."})
    if actor.user_id is None:
        raise ValidationError("Only a signed-in user can upload an import.")
    _purge_expired()
    pending = PendingImport(
        token=str(uuid.uuid4()),
        kind=kind,
        user_id=actor.user_id,
        workspace_id=actor.workspace_id,
        filename=_clean_name(upload.name or ""),
        size=0,
        uploaded_at=timezone.now().isoformat(),
    )
    fd = os.open(pending.data_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        for chunk in upload.chunks():
            pending.size += len(chunk)
            if pending.size > limit:
                handle.close()
                pending.data_path.unlink(missing_ok=True)
                raise ValidationError({"file": f"The file is larger than {limit // 2**20} MB."})
            handle.write(chunk)
    pending._write_meta()
    return pending


def pending_import_get(*, actor: Actor, token: uuid.UUID | str, kind: str = "partners") -> PendingImport:
    """The actor's own pending import with this id, or PendingImportMissing."""
    try:
        token = str(uuid.UUID(str(token)))
        meta = json.loads((imports_dir() / f"{token}.json").read_text(encoding="utf-8"))
        pending = PendingImport(**meta)
    except (ValueError, OSError, TypeError):
        raise PendingImportMissing(token) from None
    if pending.user_id != actor.user_id or pending.workspace_id != actor.workspace_id or pending.kind != kind:
        raise PendingImportMissing(token)
    if pending.result is None and not pending.data_path.exists():
        raise PendingImportMissing(token)
    return pending


def pending_import_finish(*, pending: PendingImport, result: ImportResult) -> None:
    """Record the outcome and delete the uploaded file."""
    pending.result = {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "rejected": result.rejected,
        "rows": result.rows,
        "error_count": result.error_count,
        "errors": [str(e) for e in result.errors[:KEPT_RESULT_ERRORS]],
        "finished_at": timezone.now().isoformat(),
    }
    pending._write_meta()
    pending.data_path.unlink(missing_ok=True)


def pending_import_discard(*, pending: PendingImport) -> None:
    pending.data_path.unlink(missing_ok=True)
    pending.meta_path.unlink(missing_ok=True)
