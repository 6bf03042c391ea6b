"""Store every user's e-mail lower-cased (log-in matches case-insensitively from now on).

Two users whose addresses differ only in case cannot both be kept automatically: the migration stops and
names them, so an admin decides which account stays (merge or delete the other, then migrate again).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.models.functions import Lower


def lowercase_emails(apps: Any, schema_editor: Any) -> None:
    User = apps.get_model("accounts", "User")
    seen: dict[str, str] = {}
    clashes: list[str] = []
    for email in User.objects.values_list("email", flat=True):
        key = email.lower()
        if key in seen:
            clashes.append(f"{seen[key]} / {email}")
        seen[key] = email
    if clashes:
        raise RuntimeError(
            "These user accounts differ only in the case of their e-mail; keep one of each and migrate "
            "again: " + "; ".join(clashes)
        )
    for user in User.objects.exclude(email=Lower("email")).only("pk", "email"):
        User.objects.filter(pk=user.pk).update(email=user.email.lower())


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_notification")]

    operations = [migrations.RunPython(lowercase_emails, migrations.RunPython.noop)]
