from relief.core.roles import AUDITOR, DISTRIBUTION_TEAM, LOGISTICS_MANAGER, WAREHOUSE_STAFF

_READ = ["inventory.view_*"]

GRANTS = {
    LOGISTICS_MANAGER: ["inventory.*"],
    WAREHOUSE_STAFF: [
        *_READ,
        "inventory.add_stockentry", "inventory.change_stockentry", "inventory.delete_stockentry",
        "inventory.add_stockentryline", "inventory.change_stockentryline", "inventory.delete_stockentryline",
        "inventory.change_waybill",
        "inventory.add_physicalcount", "inventory.change_physicalcount", "inventory.delete_physicalcount",
        "inventory.add_physicalcountline", "inventory.change_physicalcountline",
        "inventory.delete_physicalcountline",
    ],
    DISTRIBUTION_TEAM: ["inventory.view_warehouse", "inventory.view_item", "inventory.view_bin", "inventory.view_lot"],
    AUDITOR: _READ,
}
