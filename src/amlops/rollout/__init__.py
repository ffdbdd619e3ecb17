"""Rollouts: the plan and the strategy (pure), and the executor that carries them out through the SDK."""
