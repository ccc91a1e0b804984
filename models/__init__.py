"""The stored map: tables, the journey.yaml schema and loader, mapping rules, upserts, migrations."""
