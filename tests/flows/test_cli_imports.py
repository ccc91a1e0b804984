"""`journeymap --help` stays quick: building the command line and rendering every command's help imports typer,
rich and the source registry, never the flows, the warehouse or the libraries they need (each command imports
those when it runs)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

HEAVY = ("scipy", "numpy", "pandas", "prefect", "great_expectations", "sqlalchemy", "alembic", "httpx", "yaml",
         "google", "flows.pipeline", "flows.settings", "flows.sources", "connectors", "checks", "reports")
HELP: tuple[list[str], ...] = ([], ["run"], ["backfill"], ["backtest"], ["annotate"], ["checks"], ["check-config"],
                              ["map"], ["summary"], ["discover"], ["setup-prefect"], ["incident"], ["incident", "ack"],
                              ["incident", "snooze"])

PROBE = f"""
import json, sys
from typer.testing import CliRunner
import flows.cli
for args in {HELP!r}:
    result = CliRunner().invoke(flows.cli.app, [*args, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output, (args, result.output)
print(json.dumps(sorted(sys.modules)))
"""


def test_the_command_line_and_its_help_import_no_heavy_module() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert "flows.cli" in loaded
    heavy = sorted(m for m in loaded if any(m == h or m.startswith(f"{h}.") for h in HEAVY))
    assert heavy == []


def test_the_parallel_limit_the_help_shows_is_the_pipelines_own() -> None:
    from flows import cli, pipeline

    assert cli.MAX_PARALLEL == pipeline.MAX_PARALLEL
