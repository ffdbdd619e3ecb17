"""Adopting existing Azure ML CLI v2 projects: `amlops import`."""
