"""Relief: shelter and relief-distribution logistics."""
