"""Live state as data (what a workspace has, as observed) and the record amlops keeps in its tags."""
