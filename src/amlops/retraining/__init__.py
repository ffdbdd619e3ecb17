"""Capability: a model a run trained reaches the endpoints through Git, as a candidate branch.

After a run completes, its model output is hashed the way releases hash model bytes; content seen
before makes nothing, new content becomes a model version registered from the run's output and a
branch, like a promotion's, that serves it in the first environment it can reach.
"""
