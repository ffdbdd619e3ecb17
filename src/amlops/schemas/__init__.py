"""Schemas of file formats Azure documents, as amlops checks them (data files only)."""
