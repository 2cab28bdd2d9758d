"""Access (Art 15) and portability (Art 20) exports: one ZIP in private storage per build.

What goes in, and why:

- **Access** (`right=access`): the subject graph of the customer (customers.subject), and
  nothing else: for every model it covers, the rows about the person and every version of
  each in its history (customer record, preferences, disclosures, calls (also those from a
  number they used to have), correspondence, purchases, SMS received, requests with their
  notes, tasks, clock stops, documents and reminders, complaints, the ICO's cases and
  deadlines, case-file correspondence, and who has seen their data). Then the supplementary
  information of Art 15(1)-(2) from the register of processing activities (purposes, lawful
  bases, recipients, retention, source, the rights, the right to complain to the ICO), as
  JSON and as readable HTML.
- **Portability** (`right=portability`): only what the customer provided to us (Art 20(1);
  ICO guidance counts data the person actively gave and the record of what they did, such
  as orders placed, but not what we derived or wrote ourselves): contact details and date
  of birth, the marketing preferences they gave, and their orders. Not call recordings
  (processed for legitimate interests, outside Art 20), not correspondence summaries or case
  notes (written by staff), not disclosures (our own record of what we did).

Left out of both, on purpose: the names of members of staff (other people's data; ICO
guidance allows withholding it: we say "a member of staff"), internal ids, and the one-way
suppression hashes (they cannot be linked back to anyone).

Files: `personal_data.json` (every data set, self-describing), `csv/<data set>.csv` (one per
data set, spreadsheet-safe), `index.html` (what the package is, in plain English) and, for
access, `supplementary_information.json` and `.html`.

Building is idempotent per request: a second delivery of the same request finds the export
it already built and returns it. A newer request replaces the older export (one live
package per case: fewer copies of everything). Exports are deleted after
legal.EXPORT_RETENTION_DAYS by the nightly job, the deletion recorded on the document row.

The package: `datasets` (what each data set holds), `render` (the files and the ZIP), `build`
(requesting, building in the background, sweeping and expiring). Callers import from here.
"""

from __future__ import annotations

from .build import (
    CONTENT_TYPE,
    ERR_ERASED,
    ERR_GAVE_UP,
    ERR_NO_CUSTOMER,
    ERR_NOT_WORKER,
    ERR_RIGHT,
    ERR_STATUS,
    EXPIRED_REASON,
    EXPORT_MAX_ATTEMPTS,
    EXPORT_RIGHTS,
    REPLACED_REASON,
    export_build,
    export_build_queued,
    export_request,
    export_request_run,
    export_requests_sweep,
    exports_delete_expired,
)
from .datasets import DATA_SETS, STAFF, SYSTEM, YOU_ONLINE, DataSet, attachment_name, data_sets_for, plain
from .render import export_files, render_html_sections, render_html_value, supplementary

__all__ = [
    "CONTENT_TYPE",
    "DATA_SETS",
    "ERR_ERASED",
    "ERR_GAVE_UP",
    "ERR_NOT_WORKER",
    "ERR_NO_CUSTOMER",
    "ERR_RIGHT",
    "ERR_STATUS",
    "EXPIRED_REASON",
    "EXPORT_MAX_ATTEMPTS",
    "EXPORT_RIGHTS",
    "REPLACED_REASON",
    "STAFF",
    "SYSTEM",
    "YOU_ONLINE",
    "DataSet",
    "attachment_name",
    "data_sets_for",
    "export_build",
    "export_build_queued",
    "export_files",
    "export_request",
    "export_request_run",
    "export_requests_sweep",
    "exports_delete_expired",
    "plain",
    "render_html_sections",
    "render_html_value",
    "supplementary",
]
