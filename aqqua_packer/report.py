"""The gap report, built from mapped records: counts per field and every problem, as JSON or text."""
