"""Capability: model monitors' results, and the retraining a breached monitor starts (`amlops monitor`)."""
