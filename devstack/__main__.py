"""``make run``: the whole service on this machine, with no AWS account and no internet.

Starts the embedded stack (moto + localstripe on 127.0.0.1), creates the table, verifies the
SES sender, seeds the demo accounts, serves the app with ``chalice local --no-autoreload`` on
127.0.0.1:$PORT, and runs the scheduled jobs every minute (``chalice local`` runs none).
Ctrl-C or SIGTERM stops every child this process started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    port = int(os.environ.get("PORT", "8000"))
    aws_port = int(os.environ.get("LOCAL_AWS_PORT", "4566"))
    stripe_port = int(os.environ.get("LOCAL_STRIPE_PORT", "8420"))
    vies_port = int(os.environ.get("LOCAL_VIES_PORT", "8430"))

    from devstack.stack import LOOPBACK, start_stack

    stack = start_stack(aws_port, stripe_port, vies_port)
    os.environ.update(stack.environment)
    os.environ["PORT"] = str(port)

    from chalicelib.jobs.run import JOBS, run_job
    from chalicelib.seed import ALL_DEMO_EMAILS, DEMO_PASSWORD, seed_demo
    from chalicelib.wiring import container

    seed_demo(container())

    chalice = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "chalice"),
            "local",
            "--no-autoreload",
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            "--stage",
            "local",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    def scheduler() -> None:
        while not stopping.wait(60):
            for job in JOBS:
                try:
                    run_job(job)
                except Exception as error:  # keep the scheduler alive; the job logs details
                    print(f"job {job} failed: {error}", file=sys.stderr)

    threading.Thread(target=scheduler, name="scheduler", daemon=True).start()

    url = f"http://{LOOPBACK}:{port}"
    for _ in range(200):
        if chalice.poll() is not None or stopping.is_set():
            break
        try:
            urllib.request.urlopen(f"{url}/health", timeout=1).read()
            break
        except OSError:
            time.sleep(0.2)
    print(
        f"\nHelpDesk Accounts is running:\n"
        f"  API and console  {url}   (OpenAPI: {url}/openapi.json)\n"
        f"  embedded AWS     {stack.aws_url}   (mail sent: {stack.aws_url}/moto-api/data.json)\n"
        f"  embedded Stripe  http://{LOOPBACK}:{stripe_port}\n"
        f"  fake VIES        http://{LOOPBACK}:{vies_port}\n"
        f"  demo accounts (password {DEMO_PASSWORD}): "
        + ", ".join(ALL_DEMO_EMAILS)
        + "\nPress Ctrl-C to stop.\n",
        flush=True,
    )
    while not stopping.is_set() and chalice.poll() is None:
        stopping.wait(0.5)
    if chalice.poll() is None:
        chalice.terminate()
        try:
            chalice.wait(10)
        except subprocess.TimeoutExpired:
            chalice.kill()
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
