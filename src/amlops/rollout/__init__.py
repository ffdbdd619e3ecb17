"""Rollouts: the plan and the strategy (pure), the next action (pure), and the loop that takes it through the workspace."""
