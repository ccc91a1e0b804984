"""The command line end to end, side by side in one run: `journeymap --help`, and `journeymap run --demo` on a
temporary Prefect server and on a running one, with the memory a run takes.

Run:  PYTHONPATH=. .venv/bin/python -m bench.e2e [--help-rounds 5] [--as-of YYYY-MM-DD]

(a) `journeymap --help` wall time (median of the rounds, best beside it) and `-X importtime` of `import flows.cli`
    (its cumulative total and the heaviest entries);
(b) `journeymap run --demo` with PREFECT_API_URL unset: the command starts a temporary server (the time the
    server took, as the command reports it, beside the run's);
(c) the same against a server this bench starts (`prefect server start` on a free port, in its own process group,
    waited for until its health check answers, stopped with SIGTERM to the group afterwards);
(d) peak memory of (b) and (c): the sum of the resident sets of the run's process tree (the command and the
    temporary server it starts), polled from /proc every 50 ms, and, exact, the largest single process
    (`resource.getrusage(RUSAGE_CHILDREN).ru_maxrss` of a wrapper process that runs only the command).

Each run gets a fresh temporary folder: its SQLite warehouse (JOURNEY_DATABASE_URL), outbox (JOURNEY_OUTBOX_DIR),
PREFECT_HOME and JOURNEY_CACHE_DIR. Targets: --help ≤ 1 s; run --demo ≤ 30 s with the temporary server, ≤ 15 s
with a running one; peak memory (the tree) ≤ 600 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COMMAND = [str(BIN / "journeymap")] if (BIN / "journeymap").exists() else [sys.executable, "-m", "flows.cli"]
HELP_TARGET, TEMPORARY_TARGET, RUNNING_TARGET, MEMORY_TARGET_MB = 1.0, 30.0, 15.0, 600.0
PAGE = os.sysconf("SC_PAGE_SIZE")
# a wrapper that runs only the command, so that its children's rusage is the command's tree alone
WRAPPER = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[2:]); "
           "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
           "sys.exit(code)")
SERVER_TOOK = re.compile(r"the temporary Prefect server took ([\d.]+) s")


@dataclass
class Run:
    seconds: float
    code: int
    tree_mb: float  # peak sum of the process tree's resident sets
    largest_mb: float  # the largest single process's peak resident set
    stderr: str


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def base_env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update({"JOURNEY_DATABASE_URL": f"sqlite:///{folder / 'demo.db'}", "JOURNEY_OUTBOX_DIR": str(folder / "outbox"),
                "JOURNEY_MAP_FILE": str(ROOT / "journey.yaml"), "PREFECT_HOME": str(folder / "prefect"),
                "JOURNEY_CACHE_DIR": str(folder / "cache"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    return env


def tree_rss(root: int) -> int:
    """Bytes resident in `root` and its descendants now (Linux /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    total, todo = 0, list(parents.get(root, []))  # the command's tree, not the wrapper above it
    while todo:
        pid = todo.pop()
        with contextlib.suppress(OSError):  # ended meanwhile
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        todo.extend(parents.get(pid, []))
    return total


def timed(args: list[str], env: dict[str, str], folder: Path) -> Run:
    """Run the command, its wall time and memory (see the module's docstring)."""
    maxrss = folder / "maxrss"
    began = time.monotonic()
    process = subprocess.Popen([sys.executable, "-c", WRAPPER, str(maxrss), *args], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def poll() -> None:
        nonlocal peak
        while not stop.wait(0.05):
            peak = max(peak, tree_rss(process.pid))

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    _, stderr = process.communicate()
    seconds = time.monotonic() - began
    stop.set()
    poller.join()
    largest = int(maxrss.read_text()) / 1024 if maxrss.exists() else float("nan")  # ru_maxrss: KiB on Linux
    return Run(seconds, process.returncode, peak / 2**20, largest, stderr)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], str, float]:
    """`prefect server start` on a free port, its own process group; its API URL and the seconds to health."""
    port = free_port()
    env = base_env(folder)
    began = time.monotonic()
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}/api"
    deadline = began + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"prefect server start exited with {server.returncode} before answering")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return server, url, time.monotonic() - began
        except OSError:
            pass
        time.sleep(0.2)
    stop_server(server)
    raise SystemExit(f"the Prefect server on port {port} did not answer its health check in 180 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's group (the server stops as on Ctrl-C), SIGKILL to what is left after 30 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        print("the Prefect server did not stop in 30 s of SIGTERM: killed", flush=True)
    with contextlib.suppress(ProcessLookupError):  # what is left of the group (a service the server started)
        os.killpg(server.pid, signal.SIGKILL)
    server.wait()


def importtime() -> tuple[float, list[tuple[float, str]]]:
    """`import flows.cli`'s cumulative import time (s) and its heaviest entries (s, name as indented)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import flows.cli"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    entries = []
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            entries.append((int(parts[1]) / 1e6, parts[2].rstrip()))
    total = next(s for s, name in entries if name.strip() == "flows.cli")
    top = sorted((e for e in entries if e[1].strip() != "flows.cli"), reverse=True)[:8]
    return total, top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--help-rounds", type=int, default=5)
    parser.add_argument("--as-of", help="the day `run --demo` counts as today (default: today)")
    args = parser.parse_args()
    demo = [*COMMAND, "run", "--demo", *(["--as-of", args.as_of] if args.as_of else [])]
    print(f"{os.cpu_count()} cores; command: {' '.join(demo)}", flush=True)

    with tempfile.TemporaryDirectory(prefix="journeymap-e2e-") as tmp:
        folder = Path(tmp)
        helps = []
        for _ in range(args.help_rounds):
            began = time.monotonic()
            subprocess.run([*COMMAND, "--help"], env=base_env(folder), cwd=ROOT, capture_output=True, check=True)
            helps.append(time.monotonic() - began)
        total, top = importtime()

        (folder / "temporary").mkdir()
        temporary = timed(demo, base_env(folder / "temporary"), folder / "temporary")
        took = SERVER_TOOK.search(temporary.stderr)

        (folder / "running").mkdir()
        server, url, ready = start_server(folder / "running")
        try:
            running = timed(demo, {**base_env(folder / "running"), "PREFECT_API_URL": url}, folder / "running")
        finally:
            stop_server(server)

    for run, name in ((temporary, "temporary server"), (running, "running server")):
        if run.code != 0:
            print(f"run --demo ({name}) exited with {run.code}:\n{run.stderr[-3000:]}")
    help_time = statistics.median(helps)
    print(f"\n(a) journeymap --help: median {help_time:.2f} s (best {min(helps):.2f} s, {len(helps)} rounds)"
          f"  target ≤ {HELP_TARGET:.0f} s  {verdict(help_time <= HELP_TARGET)}")
    print(f"    import flows.cli: {total:.3f} s cumulative (-X importtime); heaviest entries:")
    for seconds, name in top:
        print(f"      {seconds:7.3f} s  {name}")
    server_part = f"{took.group(1)} s of it the temporary server's startup" if took else "server time not reported"
    print(f"(b) run --demo, temporary server: {temporary.seconds:.1f} s ({server_part}), exit {temporary.code}"
          f"  target ≤ {TEMPORARY_TARGET:.0f} s  "
          f"{verdict(temporary.code == 0 and temporary.seconds <= TEMPORARY_TARGET)}")
    print(f"(c) run --demo, running server:   {running.seconds:.1f} s (the server took {ready:.1f} s to answer "
          f"before the run), exit {running.code}  target ≤ {RUNNING_TARGET:.0f} s  "
          f"{verdict(running.code == 0 and running.seconds <= RUNNING_TARGET)}")
    if running.seconds:
        print(f"    temporary / running: {temporary.seconds / running.seconds:.2f}×")
    for run, label in ((temporary, "(b) temporary server"), (running, "(c) running server")):
        print(f"(d) peak memory, {label}: process tree {run.tree_mb:.0f} MB (polled /proc sum of RSS), largest "
              f"process {run.largest_mb:.0f} MB (getrusage RUSAGE_CHILDREN)  target ≤ {MEMORY_TARGET_MB:.0f} MB  "
              f"{verdict(run.tree_mb <= MEMORY_TARGET_MB)}")


if __name__ == "__main__":
    main()
