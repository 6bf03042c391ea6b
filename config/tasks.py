"""The one schedule: every periodic job of the installation, with its crontab (``core.tasks``).

Nothing else in the code base is periodic: apps' ``tasks`` modules hold on-demand jobs, and the jobs
below are thin loops over them. Each periodic job spans workspaces, so it lists the workspaces that have
work (the only ``unscoped`` reads a job needs) and runs the workspace job for each, inside that
workspace's scope (``run_each``: a workspace whose job fails is recorded and the others still run).
`prm worker` imports this module (``core.tasks.load_jobs``); huey's own autodiscovery would not, as
``config`` is no app.
"""

from __future__ import annotations

from huey import crontab

from openprm.activity.rollups import rollups_workspaces_behind
from openprm.activity.tasks import fold_rollups
from openprm.core.jobruns import run_prune
from openprm.core.outbox import deliver_outbox, outbox_workspaces_due
from openprm.core.tasks import periodic_job, workspace_ids
from openprm.deals.tasks import expire_protection_windows
from openprm.metrics.tasks import close_last_month


@periodic_job(crontab(minute="*"))
def rollups_catch_up() -> int:
    """Every minute: fold what a lost or delayed fold job left queued (metrics fresh within 60 s)."""
    return fold_rollups.run_each(rollups_workspaces_behind())


@periodic_job(crontab(minute="7"))
def deals_expire_protection() -> int:
    """Hourly at :07: expire approved registrations whose protection window ended, in every workspace."""
    return expire_protection_windows.run_each(workspace_ids())


@periodic_job(crontab(minute="*"))
def outbox_catch_up() -> int:
    """Every minute: deliver outbox messages that are due (retries whose time came, lost jobs)."""
    return deliver_outbox.run_each(outbox_workspaces_due())


@periodic_job(crontab(day="1", hour="2", minute="17"))
def metrics_monthly_close() -> int:
    """Monthly on the 1st at 02:17 UTC: close last month's metrics in every workspace (idempotent)."""
    return close_last_month.run_each(workspace_ids())


@periodic_job(crontab(hour="3", minute="41"))
def jobs_prune_runs() -> int:
    """Daily at 03:41 UTC: delete job runs older than PRM_JOB_RUNS_KEEP_DAYS (30 days by default)."""
    return run_prune()


@periodic_job(crontab(hour="7", minute="3"))
def notifications_daily_digest() -> int:
    """Daily at 07:03 UTC: e-mail each user who chose a digest what they were notified of since the last."""
    from openprm.notifications.tasks import send_digests

    return send_digests.run_each(workspace_ids())


@periodic_job(crontab(minute="*"))
def alerts_evaluate_all() -> int:
    """Every minute: evaluate the due alert rules of every workspace (each rule at its own interval)."""
    from openprm.alerts.tasks import alerts_evaluate

    return alerts_evaluate.run_each(workspace_ids())


@periodic_job(crontab(minute="*/5"))
def reports_send_due_all() -> int:
    """Every 5 minutes: start the scheduled reports whose time came, in every workspace (each slot once)."""
    from openprm.reports.tasks import reports_send_due

    return reports_send_due.run_each(workspace_ids())


@periodic_job(crontab(minute="*/10"))
def commissions_catch_up() -> int:
    """Every 10 minutes: accrue commissions for what changed and a lost after-commit job left behind."""
    from openprm.commissions.services.accrual import accrual_workspaces
    from openprm.commissions.tasks import accrue_recent

    return accrue_recent.run_each(accrual_workspaces())


@periodic_job(crontab(hour="4", minute="13"))
def commissions_release_holds() -> int:
    """Daily at 04:13 UTC: approve commission entries whose holding period ended."""
    from openprm.commissions.services.accrual import accrual_workspaces
    from openprm.commissions.tasks import release_holds

    return release_holds.run_each(accrual_workspaces())
