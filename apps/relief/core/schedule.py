PERIODIC = [
    ("daily-backup", 86400, "relief.core.backup.backup_scheduled", "long"),
]
