"""Slack delivery of alerts and map-update summaries."""
