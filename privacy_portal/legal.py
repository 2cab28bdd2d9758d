"""Every legal figure the portal applies, named, in one place, with its source.

Change a figure here and everything that counts with it follows. Tests assert on these
names, never on bare numbers.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

# --- Marketing opt-outs --------------------------------------------------------------
# Privacy notice (seed/privacy-notice.txt): "if you inform us that you no longer wish to
# receive marketing emails and/or telephone calls you will stop receiving them within
# 7 Days of your request being received." SMS is electronic marketing under PECR reg 22
# and is held to the same promise.
OPT_OUT_DAYS_EMAIL = 7
OPT_OUT_DAYS_SMS = 7
OPT_OUT_DAYS_PHONE = 7
# One-click unsubscribes (RFC 8058 "List-Unsubscribe-Post: List-Unsubscribe=One-Click") and the
# unsubscribes and spam complaints the email provider reports: within 2 days. Google's and
# Yahoo's requirements for bulk senders since February 2024 ("process unsubscribe requests within
# 2 days"; Gmail Email sender guidelines, Yahoo Sender Best Practices): stricter than the
# notice's 7, and a sender that misses it is throttled or refused by the mailbox providers.
OPT_OUT_DAYS_EMAIL_ONE_CLICK = 2
# Postal marketing is planned weeks ahead (print and mailing-house lead times); the
# company's published promise for post is 6 weeks (DMA Code, "reasonable time").
OPT_OUT_WEEKS_POST = 6
# Personalised online advertising is switched off in the ad platforms' audiences, an
# electronic change held to the same 7 days. Withdrawing consent to share sensitive data
# takes effect at once: it is a guard on every later disclosure (UK GDPR Art 7(3)).
OPT_OUT_DAYS_PERSONALISED_ADS = 7
OPT_OUT_DAYS_SENSITIVE_SHARING = 0

# --- Telephone marketing and the TPS (PECR 2003, SI 2003/2426, reg 21) ----------------------
# reg 21(3): "A person shall not be held to have contravened paragraph (1)(b) where the number
# allocated to the called line has been listed on the register for less than 28 days preceding
# that on which the call is made." Counted from the date a number was first seen listed in a
# TPS/CTPS file we loaded; a number already on the first file we ever loaded has no known date
# and is treated as listed for longer.
TPS_LISTED_GRACE_DAYS = 28
# The 28 days only protect a caller who screens against a copy of the register at most 28 days
# old (ICO guidance on telephone marketing): an older file cannot clear a number.
TPS_FILE_MAX_AGE_DAYS = 28
# reg 21(4)-(5): a listed subscriber may tell a caller they do not, for the time being, object
# to its calls, and may withdraw that at any time; once withdrawn "the caller shall not make such
# calls on that line": in effect the moment it is recorded (the screening reads it live).
OPT_OUT_DAYS_CALLS_DESPITE_TPS = 0

# --- Age ------------------------------------------------------------------------------
# Privacy notice: the business does not knowingly hold data on, or sell to, under-18s
# (it offers credit and instalment plans: Consumer Credit Act 1974 requires adults).
MINIMUM_CUSTOMER_AGE_YEARS = 18

# --- Retention ------------------------------------------------------------------------
# Privacy notice, "Call Recording and AI Transcription": "call recordings and
# transcriptions are kept for 6 months and then securely deleted"; and "a brief record of
# any correspondence or telephone calls ... for up to six months".
CALL_RETENTION_MONTHS = 6
CORRESPONDENCE_RETENTION_MONTHS = 6
# Purchases: kept for guarantees and tax. Companies Act 2006 s388(4)(b): a public company
# keeps accounting records 6 years; HMRC: VAT records 6 years (VAT Act 1994 Sch 11 para 6).
PURCHASE_RETENTION_YEARS = 6

# Disclosures (what went to whom): kept for the limitation period after the disclosure, so the
# company can account for it (Art 5(2)) and answer a claim (Limitation Act 1980 ss2, 5).
DISCLOSURE_RETENTION_YEARS = 6
# Marketing preference changes are the proof of consent and of opt-outs honoured (UK GDPR
# Art 7(1), PECR reg 22); a change superseded by a later one for the same purpose and channel is
# kept the limitation period after it was superseded (ICO consent guidance: keep the record as
# long as the processing and claims about it last), the current one as long as the customer.
PREFERENCE_RECORD_RETENTION_YEARS = 6
# Text messages received: only the gateway's id and the outcome, kept so a replayed message
# changes nothing; company policy: the gateway resends for days, never months; six months like calls.
INBOUND_SMS_RETENTION_MONTHS = 6
# Call-list screening results: the result file holds every number screened, so it is
# deleted after a year, company policy: long enough to answer a complaint about a campaign and the
# ICO's questions about it (they come within months of the calls); the screening record itself
# (which TPS/CTPS files, the counts, the list's SHA-256) holds no number and is kept.
CALL_LIST_RESULT_RETENTION_MONTHS = 12
# Email provider events acted on (unsubscribe, spam complaint, hard bounce): likewise only the
# provider's event id and the outcome, kept so a redelivered event changes nothing (SendGrid
# retries for 72 hours); six months like text messages.
EMAIL_EVENT_RETENTION_MONTHS = 6
# Breach records: Art 33(5) requires documenting every breach; company policy keeps the list of
# people affected for the limitation period after the breach is closed, then detaches it (the
# breach record itself, which names no one, is kept as the Art 33(5) documentation).
BREACH_AFFECTED_RETENTION_YEARS = 6
# The access log (who read whose data) is the evidence for a complaint or claim about access to
# a person's data: kept for the limitation period (Limitation Act 1980 s2; DPA 2018 s168 claims),
# after which its oldest segment is deleted behind a signed checkpoint.
ACCESS_LOG_RETENTION_YEARS = 6
# Sign-in attempts (django-axes: username, IP address, user agent): company security policy,
# after NCSC logging guidance (keep security logs long enough to investigate an incident,
# typically 6-12 months): twelve months.
SIGN_IN_ATTEMPT_RETENTION_MONTHS = 12
# Scheduled job runs (counts only): company policy, two years of operational evidence.
JOB_RUN_RETENTION_YEARS = 2
# Deletion at a store outside the portal (the call-recording store, the transcription provider):
# each processor's data-processing agreement (Art 28(3)(g)) obliges it to delete and confirm
# within 30 days of being asked; a confirmation not in by then is overdue.
EXTERNAL_DELETION_CONFIRM_DAYS = 30

# --- Rights requests (UK GDPR Art 12(3); ICO guidance on time limits) ---------------------
# One calendar month from receipt, extendable by two further months where complex or
# numerous (Art 12(3)); the requester must be told of an extension within the first month.
DSAR_RESPONSE_MONTHS = 1
DSAR_EXTENSION_MONTHS = 2

# --- Stopping the clock (UK GDPR Art 12A(5), inserted by the Data (Use and Access) Act 2025
# s76, in force 5 February 2026 (SI 2026/82 reg 2); DPA 2018 s54(3C) says the same for Part 3) --
# Art 12A(5): "Where the controller reasonably requires further information in order to
# identify the information or processing activities to which a request under Article 15
# relates— (a) the controller may ask the data subject to provide the further information,
# and (b) the period beginning with the day on which the controller makes the request and
# ending with the day on which the controller receives the information does not count
# towards— (i) the applicable time period, or (ii) the period described in paragraph 4(a)"
# (the first month, within which an extension must be notified).
# Only a request under Article 15 (access) may be paused; every other right runs on
# (https://www.legislation.gov.uk/eur/2016/679/article/12A;
# https://www.legislation.gov.uk/ukpga/2018/12/section/54).
CLOCK_STOP_RIGHTS = frozenset({"access"})


def clock_paused_days(asked_on: datetime.date, answered_on: datetime.date) -> int:
    """Days that do not count towards the time limit (Art 12A(5)(b)): the period "beginning
    with the day" the controller asks "and ending with the day" it receives the answer, both
    days included. Asked and answered the same day: one day."""
    if answered_on < asked_on:
        raise ValueError("the answer cannot come before the question")
    return (answered_on - asked_on).days + 1


# --- Complaints (DPA 2018 s164A, inserted by the Data (Use and Access) Act 2025) ---------
# Acknowledge within 30 days beginning with the day of receipt.
COMPLAINT_ACKNOWLEDGE_DAYS = 30
# Company policy: the handler is reminded 7 and 2 days before a complaint's acknowledgement
# is due and before the response target the DPO set; the DPO is told once either is missed.
COMPLAINT_REMINDER_DAYS_BEFORE = (7, 2)
# Company policy: an internal review asked for by a complainant is concluded within 30 days of
# the request (the ICO expects complaints handled "without undue delay", s164A(2)).
INTERNAL_REVIEW_DAYS = 30
# Company policy: the DPO is reminded 7 and 2 days before each deadline the ICO sets, on the
# day itself, and once it has passed unanswered.
ICO_DEADLINE_REMINDER_DAYS_BEFORE = (7, 2)

# --- Links we send --------------------------------------------------------------------
# Unsubscribe links in marketing emails must keep working long after the email is sent
# (PECR reg 22(3)(b): a simple means of refusing in every message). One year.
UNSUBSCRIBE_LINK_MAX_AGE_DAYS = 365

# --- Credentials we issue ---------------------------------------------------------------
# A dialler's token for the pre-dial check expires (UK GDPR Art 32: access to the registers and
# to who holds a number is limited in time, and a forgotten or leaked token stops working by
# itself). Company policy: issued for 90 days unless the DPO chooses otherwise, never for more
# than a year (NCSC: rotate long-lived credentials; a yearly review at the least).
DIALLER_TOKEN_DEFAULT_DAYS = 90
DIALLER_TOKEN_MAX_DAYS = 365

# --- Identity checks ------------------------------------------------------------------
# ICO guidance: where identity is in doubt, ask for evidence "promptly"; the clock then
# starts when it arrives. Company policy reads "promptly" as within 5 calendar days of
# receipt; asked later, the clock runs from receipt.
IDENTITY_REQUEST_PROMPT_DAYS = 5
# Identity documents: PDF, JPEG or PNG only, at most 10 MB (company security policy).
IDENTITY_DOCUMENT_MAX_BYTES = 10 * 1024 * 1024

# --- Access exports -------------------------------------------------------------------
# Company retention policy: a prepared access/portability package is deleted 30 days
# after it is built (long enough for the requester to receive it, short enough not to
# become a second copy of everything).
EXPORT_RETENTION_DAYS = 30

# --- The public's own door (DPA 2018 s164A(2); UK GDPR Art 12(2) "facilitate the exercise") ---
# Company security policy for the email check on the online rights-request form: a code of
# 6 digits, valid 15 minutes, 3 wrong tries and it is spent (the requester asks for a new one).
VERIFICATION_CODE_DIGITS = 6
VERIFICATION_CODE_MINUTES = 15
VERIFICATION_CODE_ATTEMPTS = 3
# Company policy: the link to the requester's secure page works this long after it was sent
# (a new one is sent on request); it stops working once the case has been closed this long.
PUBLIC_LINK_DAYS = 30
# Company policy: the finished access export can be downloaded through the secure page this many
# times, within EXPORT_RETENTION_DAYS of being built.
EXPORT_PUBLIC_DOWNLOADS = 3
# UK GDPR Art 12(5): manifestly excessive requests, "in particular because of their repetitive
# character". A repeat of the same right from the same verified email while one is open or within
# this many months is flagged to the handler (the DPO decides; the form refuses nothing).
DUPLICATE_LOOKBACK_MONTHS = 12
# Company security policy: submissions of the public forms per minute and per hour from one
# network address, and per hour for one email address (the form is refused past them).
PUBLIC_FORM_RATE_PER_ADDRESS = "5/m"
PUBLIC_FORM_RATE_PER_ADDRESS_HOUR = "30/h"
PUBLIC_FORM_RATE_PER_EMAIL = "10/h"

# --- Reminders ------------------------------------------------------------------------
# Company policy: handlers are reminded 7 and 2 days before a case is due.
CASE_REMINDER_DAYS_BEFORE = (7, 2)

# --- Case files and the limitation period -------------------------------------------------
# Limitation Act 1980 ss2 and 5: claims in tort and in simple contract are barred 6 years
# after they arise; compensation claims under UK GDPR Art 82 / DPA 2018 s168 are treated
# alike. Company retention schedule: rights-request and complaint case files (and the
# records of finance agreements) are kept that long after the case closes (or the agreement
# ends), so the company can show what it did if the requester, the ICO or a court asks.
LIMITATION_PERIOD_YEARS = 6
CASE_FILE_RETENTION_YEARS = LIMITATION_PERIOD_YEARS

# --- Sane dates -------------------------------------------------------------------------
# The company (Companies House no. 03470348) was incorporated in 1997: no record it holds, and
# no date a member of staff or an import gives (received, disclosed, ordered, a filter's
# period), can be earlier. 1 January 1997 leaves the whole year of incorporation open.
EARLIEST_RECORD_YEAR = 1997
# A date of birth before 1900 is a typing error, never a living customer (the oldest person
# ever recorded lived 122 years).
EARLIEST_BIRTH_YEAR = 1900
# Company policy: no date the portal holds lies further ahead than this many years (the
# longest are retention ends: 6 years after a case closes; engagement ends; contract renewals).
LATEST_DATE_YEARS_AHEAD = 10

# --- Need to know (the promise report) ---------------------------------------------------
# Company policy (privacy notice, "Information Security": access only for those "who need to
# know that information"): the DPO reviews every break-glass opening within 7 days of it.
BREAK_GLASS_REVIEW_DAYS = 7
# The nightly purge (customers.services.retention) removes what passed its six months by the
# next night's run: a record is deleted late once this many days have passed since its end.
RETENTION_PURGE_GRACE_DAYS = 1

# --- Personal-data breaches (UK GDPR Art 33 and 34) --------------------------------------
# Art 33(1): notify the ICO "without undue delay and, where feasible, not later than 72 hours
# after having become aware of it"; a later report is "accompanied by reasons for the delay".
# The period runs in hours of elapsed time, not working days nor wall-clock days: across a
# change of the clocks (Europe/London) 72 hours end one hour later or earlier on the wall.
BREACH_REPORT_HOURS = 72
# Company policy: the DPO is reminded 24, 48 and 66 hours after awareness (6 hours to go at the
# last), and alerted once the 72 hours have passed without an initial report to the ICO.
BREACH_REMINDER_HOURS = (24, 48, 66)
# The UK time in which breach times are entered and shown (the clock itself counts in UTC).
BREACH_TIME_ZONE = "Europe/London"


def breach_report_due(aware_at: datetime.datetime) -> datetime.datetime:
    """When the ICO must have the initial report (Art 33(1)): 72 elapsed hours after the company
    became aware, returned in UK time. `aware_at` must carry its time zone: a naive wall-clock
    time is ambiguous once a year (the October hour that happens twice)."""
    if aware_at.tzinfo is None or aware_at.utcoffset() is None:
        raise ValueError("aware_at needs a time zone: a UK wall-clock time is ambiguous at the October change")
    due_utc = aware_at.astimezone(datetime.UTC) + datetime.timedelta(hours=BREACH_REPORT_HOURS)
    return due_utc.astimezone(ZoneInfo(BREACH_TIME_ZONE))


def _elapsed_hours(start: datetime.datetime, end: datetime.datetime) -> float:
    # In UTC: Python subtracts two times of the same zone by their wall clocks, which would
    # gain or lose the hour of a clock change.
    return (end.astimezone(datetime.UTC) - start.astimezone(datetime.UTC)).total_seconds() / 3600


def breach_hours_left(aware_at: datetime.datetime, now: datetime.datetime) -> float:
    """Hours until the 72-hour deadline (negative once passed), in elapsed time."""
    return _elapsed_hours(now, breach_report_due(aware_at))


def breach_reminder_due(aware_at: datetime.datetime, now: datetime.datetime) -> str | None:
    """The most urgent reminder reached at `now`: "overdue" once 72 hours have passed, else
    "66h", "48h" or "24h" (the latest threshold passed), else None. A run that missed one sends
    only the latest, never the ones it has overtaken."""
    elapsed = _elapsed_hours(aware_at, now)
    if elapsed >= BREACH_REPORT_HOURS:
        return "overdue"
    passed = [hours for hours in BREACH_REMINDER_HOURS if elapsed >= hours]
    return f"{max(passed)}h" if passed else None
