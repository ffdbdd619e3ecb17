"""Training: submit an environment's jobs (`amlops run`), follow their pipeline steps and logs, list runs.

Capabilities speak only the workspace interface; what a job needs (its asset versions) comes from the
manifests, and `amlops apply` registers it: `run` refuses a job whose assets are missing or differ.
"""
