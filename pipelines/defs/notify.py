"""Return reminders by email: after each publish, and every morning under the daemon."""
import dagster as dg

from pipelines.defs.resources import WarehouseResource


@dg.asset(group_name="notify", kinds={"email"}, deps=[dg.AssetKey("serving_snapshot")],
          description="Emails each academy whose return is due soon, due today, overdue or rejected (status and "
                      "feedback), and a digest to the data team. SMTP from DESTINATIONS_SMTP_*; without it the "
                      "messages go to <data dir>/outbox/*.eml. Never sends twice for the same event "
                      "(outbox/sent_log.jsonl).")
def return_reminders(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from pipelines.lib.notify import notify_returns

    res = notify_returns(warehouse.paths)
    d = res.delivery
    context.log.info(res.summary())
    for n, why in d.failed:
        context.log.warning(f"not sent to {n.to} ({n.subject}): {why}; will retry on the next run")
    for n in d.no_address:
        context.log.warning(f"{n.academy_name} ({n.academy_urn}) has no careers_leader_email in the register")
    return dg.MaterializeResult(metadata={
        "planned": len(res.planned), "delivered": len(d.sent), "already_sent": len(d.skipped),
        "no_address": len(d.no_address), "failed": len(d.failed), "via": d.via,
        "messages": dg.MetadataValue.md("\n".join(f"- {n.to or '(no address)'}: {n.subject}" for n in res.planned)
                                        or "Nothing to send today."),
    })


return_reminders_job = dg.define_asset_job(
    "return_reminders_daily", selection=dg.AssetSelection.assets("return_reminders"),
    description="Send today's return reminders (due soon, due today, overdue, rejected).")

return_reminders_schedule = dg.ScheduleDefinition(
    name="return_reminders_daily", job=return_reminders_job, cron_schedule="30 7 * * *",
    execution_timezone="Europe/London", default_status=dg.DefaultScheduleStatus.RUNNING,
    description="07:30 every day: email academies whose return is due soon, due today, overdue or rejected.")


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[return_reminders], jobs=[return_reminders_job],
                          schedules=[return_reminders_schedule])
