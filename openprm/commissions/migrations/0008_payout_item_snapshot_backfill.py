"""Items made before the payout details were sealed into them take the partner's details now — the
token is copied as it is, nothing is decrypted — when those are still the ones the item was exported
with (same method and masked form, not saved after the export; a draft's items always). Any other
item keeps no copy, and its file refuses it as before (mark the run failed and retry it)."""

from django.db import migrations


def backfill(apps, schema_editor):
    item_model = apps.get_model("commissions", "PayoutItem")
    details_model = apps.get_model("commissions", "PayoutDetails")
    details = {(d.workspace_id, d.partner_id): d for d in details_model.objects.all()}
    items = item_model.objects.filter(details_secret="").exclude(method="").select_related("run")
    changed = []
    for item in items.iterator(chunk_size=2000):
        own = details.get((item.workspace_id, item.partner_id))
        if own is None or not own.secret:
            continue
        exported = item.run.exported_at
        same = own.method == item.method and own.display[:120] == item.details_display
        if item.run.status != "draft" and not (same and (exported is None or own.updated_at <= exported)):
            continue
        item.details_currency, item.details_holder = own.currency, own.holder_name
        item.details_secret, item.details_at = own.secret, own.updated_at
        changed.append(item)
    item_model.objects.bulk_update(
        changed, ["details_currency", "details_holder", "details_secret", "details_at"], batch_size=1000
    )


class Migration(migrations.Migration):
    dependencies = [("commissions", "0007_payout_item_details_snapshot")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
