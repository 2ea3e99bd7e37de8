from relief.core.roles import LOGISTICS_MANAGER, REGISTRATION_OFFICER

GRANTS = {
    # Allocations, plan lines and the waiting list change only through the shelter pages and API
    # (services); the desk lets officers keep plot details and read the rest.
    REGISTRATION_OFFICER: [
        "shelter.view_*", "shelter.add_plot", "shelter.change_plot",
        "shelter.change_allocationplan", "shelter.delete_allocationplan", "shelter.submit_allocationplan",
    ],
    LOGISTICS_MANAGER: ["shelter.view_plot", "shelter.view_allocation"],
}
