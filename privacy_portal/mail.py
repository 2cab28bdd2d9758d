"""Emails to staff: the one home of every email the portal sends its own people (the DPO told of
a break-glass opening, a breach or a broken access log; the reminders; a password link). Emails
to the public are requests/services/messages.py's (the message templates, the List-Unsubscribe
headers).

Each email is logged by what it is and the ids it is about, never its subject, body or address
(`kind` is a code, the ids are numbers): the log is read by more people than the email.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail

log = logging.getLogger("portal.mail")


def email_dpo(*, subject: str, body: str, kind: str, **ids: int | None) -> None:
    """Email the DPO (settings.DPO_EMAIL). `kind` and `ids` are what the log line says."""
    email_staff(to=[settings.DPO_EMAIL], subject=subject, body=body, kind=kind, **ids)


def email_staff(*, to: list[str], subject: str, body: str, kind: str, **ids: int | None) -> None:
    """Email members of staff (the DPO, a handler, a new account) from DEFAULT_FROM_EMAIL. A
    refusal of the mail server is raised to the caller, who decides (a reminder leaves its key
    unwritten, a password link says it was not sent)."""
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)
    log.info("email sent kind=%s recipients=%d%s", kind, len(to), "".join(f" {k}={v}" for k, v in ids.items()))
