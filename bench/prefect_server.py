"""A Prefect server and process workers for the benchmarks: started on a free loopback port in a home of their
own, stopped as Prefect expects (SIGINT to the process group, the workers before the server)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(args: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    """A background process in a process group of its own."""
    return subprocess.Popen(args, env=env, cwd=cwd, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@contextmanager
def prefect_server(home: Path) -> Iterator[dict[str, str]]:
    """A running server; the environment that reaches it (PREFECT_API_URL, PREFECT_HOME)."""
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_WORKER_QUERY_SECONDS": "1",
           "PREFECT_WORKER_PREFETCH_SECONDS": "1", "JOURNEYMAP_HOME": str(ROOT)}
    env.pop("PREFECT_PROFILE", None)
    server = start([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)], env,
                   home / "server.log")
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError((home / "server.log").read_text()[-3000:]) from None
                time.sleep(0.5)
        yield env
    finally:
        stop(server)


def deploy(env: dict[str, str]) -> None:
    """`journeymap setup-prefect` and `prefect deploy --all`, as the README's deployment steps do."""
    for command in ([sys.executable, "-m", "flows.cli", "setup-prefect"],
                    [str(BIN / "prefect"), "--no-prompt", "deploy", "--all"]):
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode:
            raise RuntimeError(done.stdout[-3000:] + done.stderr[-3000:])


@contextmanager
def workers(env: dict[str, str], count: int, limit: int, logs: Path) -> Iterator[None]:
    """`count` process workers of the journeymap pool, `limit` runs each."""
    started = [start([str(BIN / "prefect"), "worker", "start", "--pool", "journeymap", "--limit", str(limit)], env,
                     logs / f"worker-{i}.log") for i in range(count)]
    try:
        yield
    finally:
        for process in started:
            stop(process)

