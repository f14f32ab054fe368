"""``make run``: the whole service on this machine, with no AWS account and no internet.

``python -m devstack [--reset]`` starts the embedded stack (moto + localstripe + the fake VIES
on 127.0.0.1), creates the table, verifies the SES sender, restores the data saved by the last
run, seeds the demo accounts that are missing, serves the app with ``chalice local
--no-autoreload`` on 127.0.0.1:$PORT, runs the scheduled jobs every minute (``chalice
local`` runs none), and polls the table's stream as Lambda's event source does, so new mail
leaves within a second (``devstack/streams.py``).

* Data: the tables, the sent mail and localstripe's store are saved under the data folder
  (``DEVSTACK_DATA_DIR``, default ``.devstack/``; see ``devstack/persistence.py``) every
  ``DEVSTACK_SAVE_SECONDS`` (30) and on stop, and restored at start; ``--reset`` (``make
  reset``) deletes them first.
* One at a time: the data folder's ``devstack.pid`` is locked (``flock``) for the whole run,
  and every port is checked before anything starts; a second ``make run`` says that one is
  already running and exits with status 3.
* No orphans: ``chalice local`` (``devstack/api_server.py``: chalice's CLI with a listen backlog
  for bursts of clients) is started through ``devstack.child``, which asks the kernel to
  SIGTERM it when the devstack dies (even by ``kill -9``), in a session of its own (a Ctrl-C
  reaches the devstack only, which stops it in order).  If ``chalice local`` or an embedded
  server dies, the devstack saves the data, stops the rest and exits with status 1.
* Ctrl-C or SIGTERM: stop ``chalice local``, let a running job finish (10 s at most), save,
  stop the servers; every port is free when the process exits (status 0).
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import FrameType
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
ALREADY_RUNNING = 3


def _say(message: str) -> None:
    print(f"devstack: {message}", file=sys.stderr, flush=True)


def _port_in_use(port: int) -> bool:
    """Whether something listens on 127.0.0.1:``port`` (bound as our servers bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


def _take_lock(folder: Path) -> IO[str] | None:
    """The locked pid file of ``folder``, or None when another devstack holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / "devstack.pid", "a+")  # noqa: SIM115 - held for the whole run
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        owner = handle.read().strip() or "?"
        handle.close()
        _say(
            f"HelpDesk Accounts is already running (pid {owner}, data in {folder}). "
            f"Stop it first (Ctrl-C in its terminal, or kill {owner})."
        )
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__.split("\n")[0])
    parser.add_argument("--reset", action="store_true", help="start with empty data")
    args = parser.parse_args(argv)

    ports = {
        name: int(os.environ.get(name, default))
        for name, default in (
            ("PORT", "8000"),
            ("LOCAL_AWS_PORT", "4566"),
            ("LOCAL_STRIPE_PORT", "8420"),
            ("LOCAL_VIES_PORT", "8430"),
        )
    }
    from devstack.persistence import default_data_dir

    folder = default_data_dir()
    lock = _take_lock(folder)
    if lock is None:
        return ALREADY_RUNNING
    busy = [f"{port} ({name})" for name, port in ports.items() if _port_in_use(port)]
    if busy:
        _say(
            "port " + ", ".join(busy) + " is already in use: is HelpDesk Accounts already "
            "running (another make run, with another data folder)? Stop it, or choose other "
            "ports (PORT, LOCAL_AWS_PORT, LOCAL_STRIPE_PORT, LOCAL_VIES_PORT)."
        )
        return ALREADY_RUNNING
    try:
        return _run(ports, folder, args.reset)
    finally:
        lock.close()


def _run(ports: dict[str, int], folder: Path, reset: bool) -> int:  # noqa: C901, PLR0912, PLR0915 - make run's main loop; the mail relay is being added (mail branch)
    from devstack.persistence import DataFolder
    from devstack.stack import LOOPBACK, start_stack

    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    stack = start_stack(
        ports["LOCAL_AWS_PORT"], ports["LOCAL_STRIPE_PORT"], ports["LOCAL_VIES_PORT"]
    )
    assert stack.stripe is not None
    data = DataFolder(folder, stack.stripe.call)
    chalice: subprocess.Popen[bytes] | None = None
    scheduler: threading.Thread | None = None
    crashed = False
    restored: dict[str, int] | None = None
    try:
        if reset:
            data.clear()
        try:
            restored = data.restore()
        except Exception as error:
            _say(
                f"could not restore the data saved in {folder} ({error!r}); the files are kept "
                "as they are. make reset starts empty."
            )
            return 1
        os.environ.update(stack.environment)
        os.environ["PORT"] = str(ports["PORT"])
        os.environ.setdefault("OUTBOX_STREAM", "1")  # the poller below relays new mail

        from chalicelib.jobs.run import DOCUMENT_FILTER, JOBS, NEW_MAIL_FILTER, run_job
        from chalicelib.seed import ALL_DEMO_EMAILS, DEMO_PASSWORD, seed_demo
        from chalicelib.wiring import container
        from devstack.streams import StreamPoller

        seed_demo(container())
        data.save()
        # what was committed while nothing polled (a restore): the first sweep looks for it
        container().outbox_relay.sweep_soon()
        if container().settings.outbox_stream:
            import app as lambda_app  # the function Lambda calls with the stream's records

            StreamPoller(
                container().settings, lambda_app.outbox_stream, NEW_MAIL_FILTER, stopping, _say
            ).start()
            # the PDFs of new invoices and credit notes, drawn before they are asked for
            StreamPoller(
                container().settings, lambda_app.documents_stream, DOCUMENT_FILTER, stopping, _say
            ).start()

        chalice = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devstack.child",
                str(os.getpid()),
                sys.executable,
                "-m",
                "devstack.api_server",
                "local",
                "--no-autoreload",
                "--host",
                LOOPBACK,
                "--port",
                str(ports["PORT"]),
                "--stage",
                "local",
            ],
            cwd=ROOT,
            env=os.environ.copy(),
            start_new_session=True,
        )

        def run_jobs() -> None:
            while not stopping.wait(60):
                for job in JOBS:
                    if stopping.is_set():
                        return
                    try:
                        run_job(job)
                    except Exception as error:  # keep the scheduler alive; the job logs details
                        _say(f"job {job} failed: {error}")

        def save_periodically() -> None:
            every = float(os.environ.get("DEVSTACK_SAVE_SECONDS", "30"))
            while not stopping.wait(every):
                try:
                    data.save()
                except Exception as error:  # the next save tries again
                    _say(f"saving the data failed: {error!r}")

        # a daemon: a stop waits 10 s at most for the job under way (each of its writes is
        # one atomic transaction, and every job picks up where an interrupted run stopped)
        scheduler = threading.Thread(target=run_jobs, name="scheduler", daemon=True)
        scheduler.start()
        threading.Thread(target=save_periodically, name="saver", daemon=True).start()

        url = f"http://{LOOPBACK}:{ports['PORT']}"
        for _ in range(200):
            if chalice.poll() is not None or stopping.is_set():
                break
            try:
                urllib.request.urlopen(f"{url}/health", timeout=5).read()
                break
            except OSError:
                time.sleep(0.2)
        kept = (
            f"restored {restored['items']} items, {restored['mail']} mails, "
            f"{restored['stripe_objects']} Stripe objects"
            if any(restored.values())
            else "empty"
        )
        print(
            f"\nHelpDesk Accounts is running:\n"
            f"  API and console  {url}   (OpenAPI: {url}/openapi.json)\n"
            f"  embedded AWS     {stack.aws_url}"
            f"   (mail sent: {stack.aws_url}/moto-api/data.json)\n"
            f"  embedded Stripe  http://{LOOPBACK}:{ports['LOCAL_STRIPE_PORT']}\n"
            f"  fake VIES        http://{LOOPBACK}:{ports['LOCAL_VIES_PORT']}\n"
            f"  data             {folder} ({kept}; make reset starts empty)\n"
            f"  demo accounts (password {DEMO_PASSWORD}): "
            + ", ".join(ALL_DEMO_EMAILS)
            + "\nPress Ctrl-C to stop.\n",
            flush=True,
        )
        while not stopping.is_set():
            if chalice.poll() is not None:
                _say(f"chalice local exited (status {chalice.returncode}): stopping everything")
                crashed = True
                break
            if not stack.alive():
                _say("an embedded server stopped: stopping everything")
                crashed = True
                break
            stopping.wait(0.5)
    finally:
        stopping.set()
        phases: dict[str, float] = {}
        mark = stop_began = time.monotonic()

        def done(phase: str) -> None:
            nonlocal mark
            phases[phase], mark = time.monotonic() - mark, time.monotonic()

        if chalice is not None and chalice.poll() is None:
            chalice.terminate()
            try:
                chalice.wait(5)
            except subprocess.TimeoutExpired:
                chalice.kill()
                chalice.wait(5)
        done("chalice")
        if scheduler is not None:
            scheduler.join(10)
        done("jobs")
        try:
            if restored is not None:  # never overwrite data that could not be read
                data.save()
            done("save")
        finally:
            stack.stop()
            done("servers")
    _say(
        f"stopped in {time.monotonic() - stop_began:.1f} s ("
        + ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in phases.items())
        + f"); data saved in {folder}"
    )
    return 1 if crashed else 0


if __name__ == "__main__":
    status = main()
    # Everything is stopped, saved (fsync'ed) and closed by now: skip the interpreter's final
    # garbage collection, which takes seconds over a large embedded table and would hold the
    # process (and a `make run` right after it) for nothing.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
