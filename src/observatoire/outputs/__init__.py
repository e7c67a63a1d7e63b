"""Outputs: maps (and later charts, portraits, dashboards, exports)."""
