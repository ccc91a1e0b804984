"""Discovery: what the sources show over a window (`observed`), the stage rules (`rules`), the candidate
touchpoints and journeys a proposal is built from (`candidates`, `parts`, `proposal`), its commented YAML
(`render`), and a map's coverage and drift against what the sources show (`drift`)."""
