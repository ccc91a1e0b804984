"""Survey and NPS exports (CSV), attached to a stage or touchpoint."""
