from relief.core.roles import DISTRIBUTION_TEAM, LOGISTICS_MANAGER, REGISTRATION_OFFICER

# The desk shows cases and samples read-only (writes go through the pages and their services); Auditors read
# through core's "*.view_*", and the desk's queryset hides sensitive cases from everyone not named.
GRANTS = {
    LOGISTICS_MANAGER: ["accountability.view_*"],
    REGISTRATION_OFFICER: ["accountability.view_feedbackcase"],
    DISTRIBUTION_TEAM: ["accountability.view_pdm*"],
}
