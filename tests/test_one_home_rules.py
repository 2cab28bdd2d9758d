"""Kinds of thing with one home, kept so by reading the source: access-log entries are written
only by privacy_portal/audit.py, a task's body only runs a service (no rule of its own), and emails
to staff are sent only by privacy_portal/mail.py."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.template import Context, Template

ROOT = Path(__file__).resolve().parent.parent
APPS = ("privacy_portal", "customers", "requests")
MODULES = [path for app in APPS for path in (ROOT / app).rglob("*.py") if "migrations" not in path.parts]
TASK_MODULES = [ROOT / app / "tasks.py" for app in APPS]
# The one writer of the access log; the model module defines the rows (and saves the side table).
ACCESS_LOG_HOMES = {"privacy_portal/audit.py", "privacy_portal/models.py"}
ACCESS_LOG_MODELS = {"AccessEvent", "AccessEventText"}
WRITES = {"create", "bulk_create", "get_or_create", "update_or_create"}


def access_log_written_at(source: str) -> list[int]:
    """The lines of `source` that write an access-log row themselves: `AccessEvent(...)`
    built, or `AccessEvent.objects.create(...)` (or another write of its manager)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        built = isinstance(func, ast.Name) and func.id in ACCESS_LOG_MODELS
        managed = (
            isinstance(func, ast.Attribute)
            and func.attr in WRITES
            and isinstance(func.value, ast.Attribute)
            and func.value.attr == "objects"
            and isinstance(func.value.value, ast.Name)
            and func.value.value.id in ACCESS_LOG_MODELS
        )
        if built or managed:
            lines.append(node.lineno)
    return sorted(set(lines))


@pytest.mark.parametrize(
    "source",
    [
        "AccessEvent.objects.create(user=None, action='x')",
        "AccessEventText.objects.bulk_create(rows)",
        "event = AccessEvent(action='x')\nevent.save()",
    ],
)
def test_a_module_writing_the_access_log_itself_is_found(source):
    assert access_log_written_at(source) == [1]


def test_reading_the_access_log_or_asking_audit_to_write_is_not_writing_it():
    source = "AccessEvent.objects.filter(pk=1).exists()\naudit.access_entry(user=None, action='x')\n"
    assert access_log_written_at(source) == []


def test_the_modules_are_found():
    found = {p.relative_to(ROOT).as_posix() for p in MODULES}
    assert ACCESS_LOG_HOMES | {"customers/services/dialler.py", "requests/services/public.py"} <= found


def test_only_audit_writes_the_access_log():
    writers = {
        p.relative_to(ROOT).as_posix(): lines
        for p in MODULES
        if p.relative_to(ROOT).as_posix() not in ACCESS_LOG_HOMES and (lines := access_log_written_at(p.read_text()))
    }
    assert writers == {}, "write access-log entries through privacy_portal/audit.py (access_record, access_entry)"


# A task's body: its docstring, imports, and statements that call (run_job, a service) and return.
THIN = (ast.Expr, ast.Import, ast.ImportFrom, ast.Return, ast.Assign)
RULE = (ast.If, ast.For, ast.While, ast.Try, ast.With, ast.FunctionDef, ast.AsyncFunctionDef)


def _is_task(node: ast.AST) -> bool:
    return isinstance(node, ast.FunctionDef) and any(
        getattr(d.func if isinstance(d, ast.Call) else d, "id", "") == "shared_task" for d in node.decorator_list
    )


def tasks_with_rules(source: str) -> list[str]:
    """The tasks of `source` whose body does more than run a service: a branch, a loop, a
    `try`, a `with`, a function of its own or any statement but a call, an assignment, an
    import or a return."""
    found = []
    for node in ast.parse(source).body:
        if not _is_task(node):
            continue
        statements = [s for s in node.body if not isinstance(s, THIN)]
        nested = [n for s in node.body for n in ast.walk(s) if isinstance(n, RULE)]
        if statements or nested:
            found.append(node.name)
    return found


@pytest.mark.parametrize(
    "body",
    [
        "    if not report.ok:\n        send_mail('x', 'y', 'a', ['b'])\n",
        "    def work():\n        return 1\n    return run_job('x', work).pk\n",
        "    try:\n        return build()\n    except ValueError:\n        return None\n",
        "    for pk in ids:\n        run(pk)\n",
    ],
)
def test_a_task_with_a_rule_of_its_own_is_found(body):
    source = f"@shared_task(name='x.tasks.t')\ndef t():\n    '''Doc.'''\n{body}"
    assert tasks_with_rules(source) == ["t"]


def test_a_task_that_runs_one_service_is_thin():
    source = (
        "@shared_task(name='x.tasks.t')\ndef t(pk):\n    '''Doc.'''\n    from .services import s\n\n"
        "    item = s(pk=pk)\n    return run_job('t', lambda: {'ok': True}).pk\n"
        "def helper():\n    if True:\n        pass\n"
    )
    assert tasks_with_rules(source) == []


def test_every_task_only_runs_a_service():
    assert all(p.exists() for p in TASK_MODULES)
    heavy = {p.relative_to(ROOT).as_posix(): names for p in TASK_MODULES if (names := tasks_with_rules(p.read_text()))}
    assert heavy == {}, "a task loads by id and calls one service; move the rule into the service"


# Views reach files of private storage through privacy_portal/private_storage.py (file_open).
VIEW_MODULES = [
    path
    for app in APPS
    for path in (ROOT / app).rglob("*.py")
    if "views" in path.relative_to(ROOT / app).parts[0] or path.stem.endswith("views")
]
FILE_READS = {"open", "read_bytes", "read_text"}


def files_opened_at(source: str) -> list[int]:
    """The lines of `source` that open or read a file themselves: `open(...)`, `path.open(...)`,
    `path.read_bytes()` or `path.read_text()`."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in FILE_READS:
                lines.append(node.lineno)
    return sorted(set(lines))


@pytest.mark.parametrize(
    "source",
    [
        "handle = private_path(doc.path).open('rb')",
        "handle = open(path, 'rb')",
        "data = path.read_bytes()",
        "text = path.read_text()",
    ],
)
def test_a_view_opening_a_file_itself_is_found(source):
    assert files_opened_at(source) == [1]


def test_a_view_asking_private_storage_for_the_file_is_not_opening_it():
    assert files_opened_at("handle = file_open(doc.path)\nresponse = FileResponse(handle)\n") == []


def test_no_view_opens_a_file_itself():
    assert any(p.name == "case.py" for p in VIEW_MODULES)
    opening = {p.relative_to(ROOT).as_posix(): lines for p in VIEW_MODULES if (lines := files_opened_at(p.read_text()))}
    assert opening == {}, "open files of private storage through privacy_portal.private_storage.file_open"


# A tracked save is save_tracked (savepoint=True when the caller catches an IntegrityError);
# track() alone is for history rows written by something else than save() (an m2m add()).
def tracked_then_saved_at(source: str) -> list[int]:
    """The lines of `source` where a function calls track(obj, ...) and then obj.save() itself."""
    lines = []
    for func in ast.walk(ast.parse(source)):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        calls = [n for n in ast.walk(func) if isinstance(n, ast.Call)]
        tracked = {
            c.args[0].id
            for c in calls
            if isinstance(c.func, ast.Name) and c.func.id == "track" and c.args and isinstance(c.args[0], ast.Name)
        }
        for c in calls:
            f = c.func
            saves = isinstance(f, ast.Attribute) and f.attr == "save" and isinstance(f.value, ast.Name)
            if saves and f.value.id in tracked:
                lines.append(c.lineno)
    return sorted(set(lines))


def test_a_track_then_save_is_found():
    source = (
        "def f(record):\n    track(record, actor=None, reason='x')\n    try:\n"
        "        with transaction.atomic():\n            record.save()\n    except IntegrityError:\n        pass\n"
    )
    assert tracked_then_saved_at(source) == [5]


def test_save_tracked_and_a_track_for_an_m2m_add_are_not_found():
    source = (
        "def f(breach, other):\n    save_tracked(other, actor=None, reason='x', savepoint=True)\n"
        "    track(breach, actor=None, reason='Linked')\n    breach.cases.add(1)\n    other.save()\n"
    )
    assert tracked_then_saved_at(source) == []


def test_no_module_tracks_then_saves_by_hand():
    found = {
        p.relative_to(ROOT).as_posix(): lines
        for p in MODULES
        if p.relative_to(ROOT).as_posix() != "privacy_portal/tracked.py"  # the home: save_tracked itself
        and (lines := tracked_then_saved_at(p.read_text()))
    }
    assert found == {}, "save through privacy_portal.tracked.save_tracked (savepoint=True inside a try)"


# One timeline builder: privacy_portal/history.py orders history rows and pairs each with the
# row before it (`timeline`, `history_page`); no other module sorts them by time or diffs them.
TIMELINE_HOME = "privacy_portal/history.py"
# Sorted by an "at" that is not a history row's: why each is not a timeline of history.
NOT_HISTORY_SORTS = {
    "privacy_portal/services/replay.py": "the replay ledger's lines (erasures and purges, a file), not history rows",
}
HISTORY_ORDER = {"history_date", "history_id"}


def _sort_key(call: ast.Call) -> ast.AST | None:
    func = call.func
    sorts = (isinstance(func, ast.Name) and func.id == "sorted") or (
        isinstance(func, ast.Attribute) and func.attr == "sort"
    )
    return next((k.value for k in call.keywords if k.arg == "key"), None) if sorts else None


def timelines_built_at(source: str) -> list[tuple[int, str]]:
    """The lines of `source` that build a timeline themselves: a history row diffed against
    another (`diff_against`), or a sort keyed on history_date / history_id, or on an entry's
    "at" (entries made from history rows, merged by time)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr == "diff_against":
            found.append((node.lineno, "diff"))
        key = _sort_key(node)
        if key is None:
            continue
        names = {n.attr for n in ast.walk(key) if isinstance(n, ast.Attribute)}
        names |= {n.value for n in ast.walk(key) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        if names & HISTORY_ORDER:
            found.append((node.lineno, "history order"))
        elif "at" in names:
            found.append((node.lineno, "by at"))
    return sorted(set(found))


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("rows = sorted(records, key=lambda r: (r.history_date, r.history_id))", "history order"),
        ("history.sort(key=lambda entry: entry['at'])", "by at"),
        ("rows.sort(key=attrgetter('history_date'))", "history order"),
        ("delta = newer.diff_against(older, included_fields=['email'])", "diff"),
    ],
)
def test_a_timeline_built_by_hand_is_found(source, what):
    assert timelines_built_at(source) == [(1, what)]


def test_a_timeline_asked_of_the_builder_is_not_found():
    source = (
        "rows = timeline({'customers.Customer': records})\n"
        "changes = [c.field for row in rows for c in row.changes(['email'])]\n"
        "names = sorted(set(labels))\n"
        "qs = Customer.history.order_by('-history_date', '-history_id')\n"
    )
    assert timelines_built_at(source) == []


def test_only_the_timeline_builder_orders_and_diffs_history_rows():
    assert (ROOT / TIMELINE_HOME).exists() and all((ROOT / p).exists() for p in NOT_HISTORY_SORTS)
    found = {}
    for p in MODULES:
        path = p.relative_to(ROOT).as_posix()
        lines = [
            line for line in timelines_built_at(p.read_text()) if not (path in NOT_HISTORY_SORTS and line[1] == "by at")
        ]
        if path != TIMELINE_HOME and lines:
            found[path] = lines
    assert found == {}, "build timelines with privacy_portal.history (timeline, history_page, TimelineRow.changes)"


# One map of history labels: privacy_portal/history_labels.py says what a history type, a kind
# of record and a field read as; no other module reads a verbose name or maps models to words.
LABELS_HOME = "privacy_portal/history_labels.py"
MODEL_LABEL = re.compile(r"^[a-z_]+\.[A-Z][A-Za-z]+$")
SHORT = 4  # words: a label, not a reason


def labels_made_at(source: str) -> list[tuple[int, str]]:
    """The lines of `source` that label a kind of record or a field themselves: a read of a
    verbose name (`model._meta.verbose_name`, `field.verbose_name`), or a dict from model
    labels ("customers.Call") to short words."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in {"verbose_name", "verbose_name_plural"}:
            found.append((node.lineno, "verbose name"))
        if isinstance(node, ast.Dict) and len(node.keys) >= 2:
            keys = [k.value if isinstance(k, ast.Constant) else None for k in node.keys]
            words = [v.value if isinstance(v, ast.Constant) else None for v in node.values]
            if all(isinstance(k, str) and MODEL_LABEL.match(k) for k in keys) and all(
                isinstance(w, str) and len(w.split()) <= SHORT for w in words
            ):
                found.append((node.lineno, "label map"))
    return sorted(set(found))


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("kind = apps.get_model(label)._meta.verbose_name.capitalize()", "verbose name"),
        ("label = str(Customer._meta.get_field(name).verbose_name)", "verbose name"),
        ("KINDS = {'customers.Call': 'Call', 'requests.Case': 'Rights request'}", "label map"),
    ],
)
def test_a_label_made_by_hand_is_found(source, what):
    assert labels_made_at(source) == [(1, what)]


def test_a_label_asked_of_the_map_or_a_reason_per_model_is_not_found():
    source = (
        "kind = record_kind('customers.Call', capital=True)\n"
        "label = field_label(Customer, 'email')\n"
        "WHY = {'customers.Recipient': 'The recipient register: organisations, not people.',\n"
        "       'requests.ReferenceCounter': 'The last reference number issued per year: no personal data.'}\n"
        "class Meta:\n    verbose_name = 'ICO case'\n"
    )
    assert labels_made_at(source) == []


def test_only_history_labels_says_what_a_record_or_a_field_reads_as():
    assert (ROOT / LABELS_HOME).exists()
    found = {
        path: lines
        for p in MODULES
        if (path := p.relative_to(ROOT).as_posix()) != LABELS_HOME and (lines := labels_made_at(p.read_text()))
    }
    assert found == {}, "label kinds of record and fields with privacy_portal.history_labels (record_kind, field_label)"


# Emails to staff (the DPO told, the reminders, a password link) go through privacy_portal/mail.py;
# emails to the public through requests/services/messages.py (its templates and headers).
MAIL_HOMES = {"privacy_portal/mail.py", "requests/services/messages.py"}
MAIL_SENDERS = {"send_mail", "send_mass_mail", "mail_admins", "mail_managers", "EmailMessage", "EmailMultiAlternatives"}


def mail_sent_at(source: str) -> list[int]:
    """The lines of `source` that import one of Django's mail senders to send an email itself."""
    return sorted(
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith("django.core.mail")
        and any(alias.name in MAIL_SENDERS for alias in node.names)
    )


def test_a_module_sending_an_email_itself_is_found():
    assert mail_sent_at("import os\nfrom django.core.mail import send_mail\nsend_mail('s', 'b', 'f', ['t'])\n") == [2]
    assert mail_sent_at("from privacy_portal.mail import email_dpo\nemail_dpo(subject='s', body='b', kind='k')\n") == []


def test_only_the_mail_homes_send_email():
    senders = {
        p.relative_to(ROOT).as_posix(): lines
        for p in MODULES
        if p.relative_to(ROOT).as_posix() not in MAIL_HOMES and (lines := mail_sent_at(p.read_text()))
    }
    assert senders == {}, "email staff through privacy_portal.mail (email_dpo, email_staff)"


# A tracked model is written through privacy_portal/tracked.py (save_tracked, get_or_create_tracked),
# so every history row says who and why. Found: every `x.save(...)` (its receiver's model cannot be
# known from the source, so each one left is listed below with why a plain save is right), and a
# write of a tracked model's manager (`Model.objects...create/get_or_create/update_or_create/
# bulk_create`, Model by name).
TRACKED_HOME = "privacy_portal/tracked.py"
MANAGER_WRITES = {"create", "get_or_create", "update_or_create", "bulk_create"}
PLAIN_SAVES = {
    ("privacy_portal/audit.py", "event"): "an AccessEvent: the append-only access log keeps no history (its chain)",
    ("privacy_portal/services/jobs.py", "run"): "a JobRun: an operational record without history (UNTRACKED)",
    ("privacy_portal/services/promise_summary.py", "run"): "a JobRun (the asked-for summary's run): without history",
    ("privacy_portal/signals.py", "user"): "the sign-in time only, skip_history_when_saving (last_login untracked)",
    ("privacy_portal/views/accounts.py", "device"): "django-otp's TOTPDevice, a third-party model without history",
    ("requests/services/public.py", "old"): "a VerificationCode: transient, without history (UNTRACKED)",
    ("requests/services/public.py", "live"): "a VerificationCode: transient, without history (UNTRACKED)",
}


def _manager_model(node: ast.expr) -> str | None:
    """`Name` of `Name.objects` at the root of a chain (`Name.objects.select_for_update()`), or None."""
    while isinstance(node, ast.Call | ast.Attribute):
        if isinstance(node, ast.Attribute) and node.attr == "objects" and isinstance(node.value, ast.Name):
            return node.value.id
        node = node.func if isinstance(node, ast.Call) else node.value
    return None


def plain_saves_at(source: str, tracked_models: set[str]) -> list[tuple[int, str]]:
    """(line, receiver) of each plain save in `source`: `x.save(...)` (not `super().save()`, a
    model's own save calling Django's), or a write of the manager of a model in `tracked_models`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        func = node.func
        receiver = func.value
        if func.attr == "save":
            is_super = isinstance(receiver, ast.Call) and getattr(receiver.func, "id", "") == "super"
            if not is_super:
                found.append((node.lineno, ast.unparse(receiver)))
        elif func.attr in MANAGER_WRITES and _manager_model(receiver) in tracked_models:
            found.append((node.lineno, ast.unparse(receiver)))
    return sorted(found)


def _tracked_models() -> set[str]:
    from django.apps import apps

    return {m.__name__ for m in apps.get_models() if hasattr(m, "history") and not m.__name__.startswith("Historical")}


@pytest.mark.parametrize(
    "source",
    [
        "entry = AdRemovalEntry(kind='email')\nentry.save()",
        "ReminderKey(key=key, case=case).save()",
        "counter, _ = ReferenceCounter.objects.select_for_update().get_or_create(prefix='R')",
        "SuppressionEntry.objects.create(channel='email')",
        "form.save()",
    ],
)
def test_a_plain_save_of_a_tracked_model_is_found(source):
    tracked = {"AdRemovalEntry", "ReminderKey", "ReferenceCounter", "SuppressionEntry"}
    assert [line for line, _ in plain_saves_at(source, tracked)] == [source.count("\n") + 1]


def test_save_tracked_a_model_s_own_save_and_an_untracked_manager_are_not_plain_saves():
    source = (
        "save_tracked(entry, actor=None, reason='x')\n"
        "get_or_create_tracked(Rows.objects.all(), actor=None, reason='x')\n"
        "class M(models.Model):\n    def save(self, *args, **kwargs):\n        super().save(*args, **kwargs)\n"
        "JobRun.objects.create(name='x')\nSuppressionEntry.objects.filter(pk=1).exists()\n"
    )
    assert plain_saves_at(source, {"SuppressionEntry", "Rows"}) == []


def test_the_tracked_models_are_found():
    assert {"SuppressionEntry", "ReminderKey", "User", "Case"} <= _tracked_models()
    assert not {"JobRun", "AccessEvent", "VerificationCode"} & _tracked_models()


def test_no_module_saves_a_tracked_model_by_hand():
    tracked = _tracked_models()
    found: dict[tuple[str, str], list[int]] = {}
    for p in MODULES:
        path = p.relative_to(ROOT).as_posix()
        if path != TRACKED_HOME:
            for line, receiver in plain_saves_at(p.read_text(), tracked):
                found.setdefault((path, receiver), []).append(line)
    unexplained = {key: lines for key, lines in found.items() if key not in PLAIN_SAVES}
    assert unexplained == {}, (
        "save a tracked model through privacy_portal.tracked (save_tracked, get_or_create_tracked) with an "
        "actor and a reason; a plain save that is right goes in PLAIN_SAVES with why"
    )
    assert set(PLAIN_SAVES) <= set(found), "PLAIN_SAVES names a save that is no longer there: remove it"


# Files of private storage are opened, read, written, replaced and renamed only by
# privacy_portal/private_storage.py (file_open, file_read, file_read_text, file_write_now,
# file_writing, write_after_commit). Found: `open(...)` / `x.open(...)`, `os.open`, `os.fdopen`,
# `x.read_bytes()`, `x.read_text()`, `x.write_bytes(...)`, `x.write_text(...)`, `os.replace`,
# `os.rename`, `os.chmod`, `tempfile.mkstemp`, and a path's `x.replace(target)` / `x.rename(target)`
# (one argument: str.replace takes two, datetime.replace keywords). The few left open files
# outside private storage, each listed with why.
STORAGE_HOME = "privacy_portal/private_storage.py"
FILE_CALLS = {"open", "fdopen", "read_bytes", "read_text", "write_bytes", "write_text", "chmod", "mkstemp"}
MOVES = {"replace", "rename"}
OTHER_FILES = {
    ("customers/management/commands/_importing.py", "open"): "the operator's file named on the command line",
    ("customers/management/commands/import_tps.py", "open"): "the operator's TPS file named on the command line",
    ("privacy_portal/services/replay.py", "open"): (
        "the replay ledger (settings.REPLAY_LEDGER_PATH, which may lie outside private storage): appended a line "
        "at a time and fsynced, never replaced"
    ),
}


def files_touched_at(source: str) -> list[tuple[int, str]]:
    """(line, call) of each place `source` opens, reads, writes, replaces or renames a file itself."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in FILE_CALLS:
            found.append((node.lineno, func.id))
        elif isinstance(func, ast.Attribute):
            os_call = isinstance(func.value, ast.Name) and func.value.id == "os"
            if func.attr in FILE_CALLS or (os_call and func.attr in MOVES):
                found.append((node.lineno, func.attr))
            elif func.attr in MOVES and len(node.args) == 1 and not node.keywords and not os_call:
                dataclass_copy = isinstance(func.value, ast.Name) and func.value.id == "dataclasses"
                if not dataclass_copy:
                    found.append((node.lineno, func.attr))
    return sorted(found)


@pytest.mark.parametrize(
    "source",
    [
        "data = private_path(item.attachment_path).read_bytes()",
        "rows = csv.reader(io.StringIO(path.read_text(encoding='utf-8')))",
        "tmp.write_text(json.dumps(checkpoint))",
        "os.chmod(tmp, 0o640)",
        "tmp.replace(path)",
        "os.replace(partial, path)",
        "os.rename(partial, path)",
        "handle = tmp.open('w', newline='', encoding='utf-8')",
        "handle = open(path, 'rb')",
    ],
)
def test_a_module_touching_a_file_itself_is_found(source):
    assert [line for line, _ in files_touched_at(source)] == [1]


def test_asking_private_storage_and_replacing_text_are_not_touching_a_file():
    source = (
        "data = file_read(item.attachment_path)\nhandle = file_open(doc.path)\n"
        "with file_writing(relative, mode=0o640) as fh:\n    fh.write('x')\n"
        "name = value.replace('&', '_')\nday = today.replace(day=1)\nrow = dataclasses.replace(row, concat=1)\n"
    )
    assert files_touched_at(source) == []


def test_no_module_touches_a_file_of_private_storage_itself():
    found: dict[tuple[str, str], list[int]] = {}
    for p in MODULES:
        path = p.relative_to(ROOT).as_posix()
        if path != STORAGE_HOME:
            for line, call in files_touched_at(p.read_text()):
                found.setdefault((path, call), []).append(line)
    unexplained = {key: lines for key, lines in found.items() if key not in OTHER_FILES}
    assert unexplained == {}, (
        "open, write, replace and rename files of private storage through privacy_portal.private_storage "
        "(file_read, file_read_text, file_write_now, file_writing, write_after_commit); a file outside it goes in "
        "OTHER_FILES with why"
    )
    assert set(OTHER_FILES) <= set(found), "OTHER_FILES names a file no longer touched there: remove it"


# A page shows a history row's type through the history_labels template filter, not through
# simple-history's own words (get_history_type_display, a second map of the same labels).
TEMPLATES = ROOT / "templates"


def test_no_template_labels_a_history_type_itself():
    found = {
        path.relative_to(TEMPLATES).as_posix(): n
        for path in sorted(TEMPLATES.rglob("*.html"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "get_history_type_display" in line
    }
    assert found == {}, "show a history type with {% load history_labels %}{{ row.history_type|history_type }}"


@pytest.mark.parametrize(("history_type", "words"), [("+", "Created"), ("~", "Changed"), ("-", "Deleted")])
def test_the_history_type_filter_says_what_history_labels_says(history_type, words):
    page = Template("{% load history_labels %}{{ t|history_type }}").render(Context({"t": history_type}))
    assert page == words
