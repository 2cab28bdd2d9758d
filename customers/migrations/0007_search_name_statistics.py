"""A finer statistics target for name search (PostgreSQL only).

At a million customers the planner underestimated common surnames (estimate ~100 rows, real
thousands) and picked the slower plan; with 1,000 buckets p99 over every seeded name fell
from 48 ms to 24 ms (bench/RESULTS.md, the agent's search).
"""

from django.db import migrations

SET = "ALTER TABLE customers_customer ALTER COLUMN search_name SET STATISTICS 1000"
RESET = "ALTER TABLE customers_customer ALTER COLUMN search_name SET STATISTICS -1"


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("customers", "0006_history_reason_text")]

    operations = [migrations.RunPython(_on_postgresql(SET), _on_postgresql(RESET))]
