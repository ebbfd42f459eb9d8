"""Return reminders and notifications by email.

    plan_notifications(...)  pure: who gets which message today (reminders.py)
    deliver(...)             SMTP or the outbox folder, never twice per event (mailer.py)
    notify_returns(paths)    the whole thing over a data directory's serving snapshot (run.py)
"""
from pipelines.lib.notify.mailer import Delivery, SentLog, SmtpSettings, deliver
from pipelines.lib.notify.reminders import Notification, plan_notifications
from pipelines.lib.notify.run import notify_returns

__all__ = ["Delivery", "Notification", "SentLog", "SmtpSettings", "deliver", "notify_returns",
           "plan_notifications"]
