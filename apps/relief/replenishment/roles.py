from relief.core.roles import LOGISTICS_MANAGER

# Auditors read everything through core's "*.view_*"; nobody else works in replenishment.
GRANTS = {
    LOGISTICS_MANAGER: ["replenishment.*"],
}
