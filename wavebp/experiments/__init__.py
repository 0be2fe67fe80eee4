"""End-to-end runs from a frozen config to a run folder, with checkpoint and resume."""
