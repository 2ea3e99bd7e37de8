from relief.core.roles import REGISTRATION_OFFICER

# The desk shows the registry read-only (changes go through the registry pages and services);
# Auditors' blanket view permission is narrowed in admin.py: they see counts, not names.
GRANTS = {
    REGISTRATION_OFFICER: ["households.view_*", "households.add_*", "households.change_*"],
}
