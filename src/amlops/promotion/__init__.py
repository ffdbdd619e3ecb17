"""Promotion: making the release live in one environment the declared release of the next, as the same bytes."""
