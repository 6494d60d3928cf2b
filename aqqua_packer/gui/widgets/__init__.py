"""Reusable widgets: progress panel, log view, thumbnail grid, positions map, time histogram."""
