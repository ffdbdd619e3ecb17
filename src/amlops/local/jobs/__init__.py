"""Running jobs on the local control plane: Azure ML's `${{...}}` expressions and the runner that executes
a job's steps as processes, in dependency order, within each cluster's node limit."""
