from django.db import migrations

ROLES = [
    "Administrator",
    "Logistics Manager",
    "Warehouse Staff",
    "Distribution Team",
    "Registration Officer",
    "Auditor",
]


def create_role_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("core", "0001_sites_blocks_jobs_tokens_naming"),
    ]

    operations = [migrations.RunPython(create_role_groups, migrations.RunPython.noop)]
