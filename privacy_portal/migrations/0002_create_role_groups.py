"""Create the five role groups with their model permissions.

Permissions normally appear only after migrate (post_migrate), so this migration
creates them first. privacy_portal.roles.sync_roles_after_migrate keeps the groups in
step as later migrations add models.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_role_groups(apps, schema_editor):
    from privacy_portal.roles import sync_role_groups

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
        app_config.models_module = None
    sync_role_groups(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


def remove_role_groups(apps, schema_editor):
    from privacy_portal.roles import ROLE_PERMISSIONS, group_name

    apps.get_model("auth", "Group").objects.filter(name__in=[group_name(r) for r in ROLE_PERMISSIONS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("privacy_portal", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_role_groups, remove_role_groups)]
