"""Indexes for the candidate matches of a public request (customers.selectors.customers.customers_matching):
the name rule's case-insensitive first and last name on the customer, and on the customer's
history every identifier the match reads (email, phone, postcode, the names), so a former
identifier is found by an index, not by reading every version of every customer
(bench/matching_bench.py). The history model takes no Meta indexes of ours (simple-history builds
it), hence SQL, written so SQLite (the local demo without PostgreSQL) runs it too: upper(name)
without a ::text cast, which PostgreSQL adds itself for a varchar column."""

from django.db import migrations, models
from django.db.models.functions import Upper

HISTORY = "customers_historicalcustomer"
HISTORY_INDEXES = {
    "historicalcustomer_email": "(email)",
    "historicalcustomer_phone": "(phone)",
    "historicalcustomer_postcode_name": "(postcode, upper(last_name))",
    "historicalcustomer_upper_name": "(upper(last_name), upper(first_name))",
}


class Migration(migrations.Migration):
    dependencies = [("customers", "0019_email_event_case_messages")]

    operations = [
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(Upper("last_name"), Upper("first_name"), name="customer_upper_name"),
        ),
        *[
            migrations.RunSQL(
                f"CREATE INDEX IF NOT EXISTS {name} ON {HISTORY} {columns}",
                f"DROP INDEX IF EXISTS {name}",
            )
            for name, columns in HISTORY_INDEXES.items()
        ],
    ]
