"""Capability: prompt flows, which Microsoft no longer develops (read-only from 2027-04-20): an evaluation
flow's figures for a candidate flow and the live one, for the evaluation gate."""
