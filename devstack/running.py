"""``python -m devstack`` in a subprocess, for the e2e tests and the benchmarks.

:class:`RunningDevstack` starts ``make run``'s program on free loopback ports (or given ones)
over a data folder, waits for ``/health``, and offers a tiny JSON HTTP client, the
devstack's and ``chalice local``'s resident memory, and a stop by SIGTERM (or a kill).  The
devstack's output goes to ``<data folder>/devstack.log``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

from devstack.stack import LOOPBACK, free_port

ROOT = Path(__file__).resolve().parent.parent
PORT_NAMES = ("PORT", "LOCAL_AWS_PORT", "LOCAL_STRIPE_PORT", "LOCAL_VIES_PORT")


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    """The pids whose parent is ``pid``."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def port_open(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((LOOPBACK, port)) == 0


class RunningDevstack:
    def __init__(
        self,
        data_dir: Path,
        ports: dict[str, int] | None = None,
        extra_env: dict[str, str] | None = None,
        reset: bool = False,
    ) -> None:
        self.data_dir = data_dir
        self.ports = ports or {name: free_port() for name in PORT_NAMES}
        self.extra_env = extra_env or {}
        self.reset = reset
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://{LOOPBACK}:{self.ports['PORT']}"

    @property
    def aws_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports['LOCAL_AWS_PORT']}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "devstack.log"

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            **{name: str(port) for name, port in self.ports.items()},
            "DEVSTACK_DATA_DIR": str(self.data_dir),
            "AWS_EC2_METADATA_DISABLED": "true",
            **self.extra_env,
        }

    def launch(self) -> subprocess.Popen[bytes]:
        """Start the devstack (without waiting)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devstack", *(["--reset"] if self.reset else [])],
            cwd=ROOT,
            env=self.environment(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        return self.process

    def start(self, timeout: float = 90) -> RunningDevstack:
        """Start and wait until ``/health`` answers 200."""
        process = self.launch()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"devstack exited ({process.returncode}): {self.log_tail()}")
            try:
                if self.call("GET", "/health", timeout=3)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        self.kill()
        raise RuntimeError(f"/health not served within {timeout} s: {self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def chalice_pid(self) -> int | None:
        found = children(self.pid)
        return found[0] if found else None

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        timeout: float = 30,
    ) -> tuple[int, Any]:
        """One JSON request to the API: ``(status, parsed body or None)``."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                raw = answer.read()
                status = answer.status
        except urllib.error.HTTPError as error:
            raw, status = error.read(), error.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def sent_mail(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.aws_url}/moto-api/data.json", timeout=30) as answer:
            return list(json.load(answer)["ses"]["Message"])

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then wait; the exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            self._close_log()

    def kill(self) -> None:
        """SIGKILL the devstack (if still running)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def ports_free(self) -> bool:
        return not any(port_open(port) for port in self.ports.values())
