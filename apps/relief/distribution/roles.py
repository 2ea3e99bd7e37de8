from relief.core.roles import DISTRIBUTION_TEAM, LOGISTICS_MANAGER, REGISTRATION_OFFICER

GRANTS = {
    LOGISTICS_MANAGER: [
        "distribution.*_distributioncycle", "distribution.*_cyclesite", "distribution.*_entitlementrule",
        "distribution.view_*", "distribution.*_distributionevent", "distribution.*_eventitem",
        # Supervisors of the exception lane; a Distribution Team lead gets it as a user permission in the desk.
        "distribution.approve_exception",
    ],
    DISTRIBUTION_TEAM: [
        "distribution.view_distributionevent", "distribution.view_eventitem", "distribution.view_redemption",
        "distribution.view_redemptionline", "distribution.view_syncissue", "distribution.change_syncissue",
    ],
    REGISTRATION_OFFICER: ["distribution.view_card", "distribution.change_card", "distribution.view_cardprint"],
}
