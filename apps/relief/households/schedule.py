PERIODIC = [
    ("households-imports-prune", 3600, "relief.households.jobs.imports_prune_job", "short"),
]
