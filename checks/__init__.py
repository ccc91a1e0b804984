"""Judgement: data-quality suites, bottleneck detection and the alert lifecycle."""
