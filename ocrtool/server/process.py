"""`ocrtool serve` as a child process on a free loopback port (for tests and benchmarks).

Runs the real command, exactly as a user would, and waits until /healthz answers, i.e.
until the models are loaded; stopping sends SIGTERM, the signal a service manager sends,
so the graceful shutdown path is the one exercised.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """A running `ocrtool serve`; use as a context manager."""

    def __init__(self, *args: str, env: dict[str, str] | None = None,
                 log: str | Path | None = None, startup_s: float = 300.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log) if log else None
        out = open(self.log_path, "w") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ocrtool.cli", "serve", "--port", str(self.port), *args],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        if out is not subprocess.DEVNULL:
            out.close()
        self._wait_ready(startup_s)

    def _wait_ready(self, startup_s: float) -> None:
        deadline = time.monotonic() + startup_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ocrtool serve exited with {self.proc.returncode}"
                                   f"{self._log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"ocrtool serve did not start in {startup_s:g} s{self._log_tail()}")

    def _log_tail(self) -> str:
        if self.log_path and self.log_path.exists():
            return ":\n" + "\n".join(self.log_path.read_text().splitlines()[-15:])
        return ""

    def rss_kib(self) -> int:
        """Resident memory of the server process now (Linux)."""
        return _status_field(self.proc.pid, "VmRSS")

    def peak_rss_kib(self) -> int:
        return _status_field(self.proc.pid, "VmHWM")

    def cpu_s(self) -> float:
        """CPU seconds (user + system, all threads) the server process has used (Linux)."""
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (name) "
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self, timeout_s: float = 60.0) -> int:
        """SIGTERM, wait for the graceful exit (kill after `timeout_s`); the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _status_field(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{name} not found for pid {pid}")
