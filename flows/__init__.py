"""Prefect flows and tasks, and the `journeymap` CLI: wiring only."""
