"""The six wizard pages, in order."""

STEP_TITLES = ("About you and the data", "Sources", "Map fields", "Preview gaps", "Pack", "Send")
