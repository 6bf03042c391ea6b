from django.apps import AppConfig


class DealsConfig(AppConfig):
    name = "openprm.deals"
    label = "deals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # A partner purge deletes the partner's deals through the deals app's tracked write (the partners
        # app sits below this one and cannot import it), so the deal rollups stay equal to a rebuild.
        from openprm.deals.services.purge import partner_deals_delete
        from openprm.partners.services.removal import register_purge_step

        register_purge_step("deals", partner_deals_delete)
