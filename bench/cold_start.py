"""Cold start as Lambda sees it: a fresh interpreter that imports ``app`` and serves one event.

For each route family (``GET /account``, ``GET /billing``, ``GET /billing/invoices/{id}``,
``POST /login``, ``GET /billing/invoices/{id}/pdf``) a new Python process imports ``app``
and hands one API Gateway proxy event to ``app.app(event, context)`` (Chalice's Lambda entry
point), against the embedded stack (``devstack.stack.start_stack`` on free ports, an account
seeded first with a session, a card and an invoice).  Its time, from the process's first line
to the answer, is paired with a *floor* process that imports ``chalice`` and ``boto3``, makes
one DynamoDB client and does one GetItem on the same endpoint.  Rounds alternate floor and app
(15 by default); the figure is the median of the paired ratios app / floor.

Stages: ``local`` (endpoints from the ports) and ``dev`` (the Stripe keys read from Secrets
Manager at the first request; moto serves it, the secret is created first).  ``--package``
runs the same from the built deployment zip (``make package STAGE=dev``; unzipped to a temp
dir that is not writable, as Lambda's ``/var/task``, with only what the Lambda runtime
provides besides it: boto3, botocore and their dependencies).  The ``import app`` against
``import chalice, boto3`` ratio is kept too.

    .venv/bin/python bench/cold_start.py [--rounds 15] [--stages local,dev] [--package [ZIP]]
    .venv/bin/python bench/cold_start.py --serve   # stack + probe files for an outside timer

Bar (DESIGN.md, issue 14): every family within 1.3x of the floor on the local stage, the PDF
within 2x; the dev stage's secret read adds at most one round trip.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import stat
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# bench/requests.py is named like the ``requests`` package: keep this folder off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

FAMILIES = ("account", "billing", "invoice", "login", "pdf", "pdf_drawn")
BARS = {"account": 1.3, "billing": 1.3, "invoice": 1.3, "login": 1.3, "pdf": 2.0}
# ``pdf``: the PDF as customers get it, drawn when the invoice was issued (the table's stream,
# ``app.documents_stream``) and stored; ``pdf_drawn``: the stored PDF removed before each run,
# the first request of a PDF nothing has drawn yet (fpdf2 loaded and drawing on the request).
# No bar on the second: it is what the stream exists to keep off the request path.
PASSWORD = "bench pass phrase"
SECRET_VALUE = {"secret_key": "sk_test_bench_placeholder", "webhook_secret": "whsec_bench"}
# What the Lambda Python runtime has besides the function's code (/var/runtime).
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")

APP_PROBE = """\
import time
_t0 = time.perf_counter()
import json, os, sys
import app
_t1 = time.perf_counter()
class Context:
    aws_request_id = "bench"
    function_name = "helpdesk-accounts-dev"
    memory_limit_in_mb = 512
    def get_remaining_time_in_millis(self):
        return 30000
answer = app.app(json.loads(os.environ["BENCH_EVENT"]), Context())
_t2 = time.perf_counter()
status = answer["statusCode"]
if status != 200:
    sys.exit(f"status {status}: {answer.get('body', '')[:300]}")
print(json.dumps({"total": _t2 - _t0, "import": _t1 - _t0, "cpu": time.process_time()}))
"""

FLOOR_PROBE = """\
import time
_t0 = time.perf_counter()
import json, os
import chalice, boto3
_t1 = time.perf_counter()
client = boto3.client("dynamodb", region_name=os.environ["AWS_REGION"],
                      endpoint_url=os.environ["BENCH_ENDPOINT"])
client.get_item(TableName=os.environ["BENCH_TABLE"],
                Key={"pk": {"S": os.environ["BENCH_PK"]}, "sk": {"S": "PROFILE"}})
_t2 = time.perf_counter()
print(json.dumps({"total": _t2 - _t0, "import": _t1 - _t0, "cpu": time.process_time()}))
"""

IMPORT_PROBE = """\
import time
_t0 = time.perf_counter()
import {module}
print('{{"total": %f, "cpu": %f}}' % (time.perf_counter() - _t0, time.process_time()))
"""


@dataclass
class Seeded:
    account_id: str
    email: str
    token: str
    invoice_id: str


def seed(environment: dict[str, str]) -> Seeded:
    """An account with a session, a card and one paid invoice (through the app itself)."""
    import uuid

    from chalice.test import Client

    os.environ.update(environment)
    from app import app
    from chalicelib.config import settings_from_env
    from chalicelib.wiring import build_container, override
    from tests.helpers import create_payment_method

    settings = settings_from_env()
    override(build_container(settings))
    email = f"cold-{uuid.uuid4().hex[:8]}@example.com"
    with Client(app) as client:

        def call(method: str, path: str, body: Any = None, token: str = "") -> Any:
            headers = {"Content-Type": "application/json"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            answer = client.http.request(
                method, path, headers=headers, body=json.dumps(body) if body else None
            )
            assert answer.status_code < 300, (path, answer.status_code, answer.body)
            return json.loads(answer.body) if answer.body else None

        signed_up = call(
            "POST",
            "/signup",
            {"email": email, "password": PASSWORD, "name": "Cold Start", "country": "FR"},
        )
        token = signed_up["token"]
        address = {"name": "C", "line1": "1 rue", "city": "Paris", "postal_code": "75001"}
        call("PUT", "/billing/address", {**address, "country": "FR"}, token)
        card = create_payment_method(settings, "4242424242424242")
        call("PUT", "/billing/card", {"payment_method_id": card}, token)
        call("POST", "/billing/subscribe", {"plan": "basic-monthly"}, token)
        invoice_id = call("GET", "/billing/invoices", token=token)["items"][0]["id"]
    # what the table's stream does when the invoice is issued (app.documents_stream)
    from chalicelib.domain.documents import DocumentKind, DocumentRef
    from chalicelib.jobs.run import render_documents

    account_id = signed_up["account"]["id"]
    render_documents([DocumentRef(account_id, DocumentKind.INVOICE, invoice_id)])
    override(None)
    return Seeded(signed_up["account"]["id"], email, token, invoice_id)


def create_secret(environment: dict[str, str], endpoint: str) -> None:
    import boto3

    client = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=endpoint)
    from chalicelib.adapters.secrets import secret_name

    client.create_secret(Name=secret_name("dev", {}), SecretString=json.dumps(SECRET_VALUE))


def event(family: str, seeded: Seeded) -> dict[str, Any]:
    """The API Gateway (REST, proxy) event of one request of ``family``."""
    auth = {"Authorization": f"Bearer {seeded.token}"}
    inv = {"invoice_id": seeded.invoice_id}
    method, resource, params, headers, body = {
        "account": ("GET", "/account", None, auth, None),
        "billing": ("GET", "/billing", None, auth, None),
        "invoice": ("GET", "/billing/invoices/{invoice_id}", inv, auth, None),
        "login": (
            "POST",
            "/login",
            None,
            {"Content-Type": "application/json"},
            json.dumps({"email": seeded.email, "password": PASSWORD}),
        ),
        "pdf": (
            "GET",
            "/billing/invoices/{invoice_id}/pdf",
            inv,
            {**auth, "Accept": "application/pdf"},
            None,
        ),
    }[family.removesuffix("_drawn")]
    path = resource.replace("{invoice_id}", seeded.invoice_id)
    headers = {"Host": "abc.execute-api.us-east-1.amazonaws.com", "Accept": "*/*", **headers}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": params,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/api{path}",
            "stage": "api",
            "apiId": "abc",
            "requestId": "bench-request",
            "identity": {"sourceIp": "203.0.113.7"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


@dataclass
class Target:
    """Where the app's code comes from: the source tree, or the unzipped package."""

    label: str
    pythonpath: str
    isolated: bool  # -S: no site-packages (the package plus the runtime's packages only)
    write_bytecode: bool


FLOOR = Target("source", str(ROOT), isolated=False, write_bytecode=True)
"""The floor always runs on the installed (precompiled) chalice and boto3, whatever the app's
code comes from."""


def run(probe: Path, env: dict[str, str], target: Target) -> dict[str, float]:
    args = [sys.executable, *(["-S"] if target.isolated else []), str(probe)]
    child = {**env, "PYTHONPATH": target.pythonpath}
    child.pop("PYTHONDONTWRITEBYTECODE", None)
    if not target.write_bytecode:
        child["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run(
        args, env=child, capture_output=True, text=True, cwd=tempfile.gettempdir()
    )
    if done.returncode != 0:
        raise SystemExit(
            f"{probe.name} failed ({target.label}): {done.stderr[-2000:]}{done.stdout[-2000:]}"
        )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def stage_env(stage: str, base: dict[str, str], endpoint: str, seeded: Seeded) -> dict[str, str]:
    env = {**base, "BENCH_ENDPOINT": endpoint, "BENCH_PK": f"ACCOUNT#{seeded.account_id}"}
    env["BENCH_TABLE"] = env.get("TABLE_NAME", "helpdesk-accounts")
    env["PYTHONHASHSEED"] = "0"
    if stage == "dev":  # as the Lambda of the dev stage runs, with the endpoint moved to moto
        env.update({"STAGE": "dev", "AWS_ENDPOINT_URL": endpoint, "TABLE_NAME": env["BENCH_TABLE"]})
        # the seller identity a deployed stage has in .chalice/config.json (dev and prod refuse
        # to run without it): the local demo seller's
        from chalicelib.config import DEMO_SELLER, Settings

        local = Settings()
        env.update(DEMO_SELLER)
        env.update(
            VENDOR_NAME=local.vendor_name,
            VENDOR_ADDRESS_LINE1=local.vendor_address_line1,
            VENDOR_POSTAL_CODE=local.vendor_postal_code,
            VENDOR_CITY=local.vendor_city,
        )
    env["AWS_LAMBDA_FUNCTION_NAME"] = "helpdesk-accounts-dev"  # as the Lambda runtime sets it
    return env


def measure(
    probes: dict[str, Path],
    env: dict[str, str],
    target: Target,
    seeded: Seeded,
    rounds: int,
    families: tuple[str, ...],
) -> tuple[dict[str, list[tuple[float, float]]], dict[str, list[tuple[float, float]]]]:
    """Wall and CPU times: ``{family: [(floor, app), ...], "import": [(chalice+boto3, app),
    ...]}`` each.  The CPU time (the process's own, from its start) hardly moves when the
    machine is busy; the wall time is what Lambda bills and the user waits."""
    events = {f: json.dumps(event(f, seeded)) for f in families}
    pairs: dict[str, list[tuple[float, float]]] = {f: [] for f in (*families, "import")}
    cpu: dict[str, list[tuple[float, float]]] = {f: [] for f in (*families, "import")}
    for round_no in range(rounds + 1):  # round 0 warms the disk cache and writes .pyc
        for family in families:
            if family == "pdf_drawn":
                forget_stored_pdfs(env, seeded)
            elif family == "pdf":
                draw_stored_pdfs(env, seeded)
            floor = run(probes["floor"], env, FLOOR)
            app = run(probes["app"], {**env, "BENCH_EVENT": events[family]}, target)
            if round_no:
                pairs[family].append((floor["total"], app["total"]))
                cpu[family].append((floor["cpu"], app["cpu"]))
        bare = run(probes["bare"], env, FLOOR)
        imported = run(probes["import_app"], env, target)
        if round_no:
            pairs["import"].append((bare["total"], imported["total"]))
            cpu["import"].append((bare["cpu"], imported["cpu"]))
    return pairs, cpu


def _pdf_keys(seeded: Seeded) -> list[tuple[str, str]]:
    from chalicelib.adapters.dynamo.keys import document_key
    from chalicelib.domain.documents import DocumentKind, DocumentRef
    from chalicelib.i18n import SUPPORTED

    ref = DocumentRef(seeded.account_id, DocumentKind.INVOICE, seeded.invoice_id)
    return [document_key(ref, locale) for locale in SUPPORTED]


def _table(env: dict[str, str]) -> tuple[Any, str]:
    import boto3

    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=env["BENCH_ENDPOINT"])
    return client, env["BENCH_TABLE"]


def forget_stored_pdfs(env: dict[str, str], seeded: Seeded) -> None:
    """The invoice's stored PDFs removed: the next request draws (and stores) one."""
    client, table = _table(env)
    for pk, sk in _pdf_keys(seeded):
        client.delete_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}})


def draw_stored_pdfs(env: dict[str, str], seeded: Seeded) -> None:
    """Both languages stored again if a ``pdf_drawn`` run left one missing (what the stream
    does at issue: the same renderer, in this process)."""
    client, table = _table(env)
    present = client.batch_get_item(
        RequestItems={
            table: {
                "Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in _pdf_keys(seeded)],
                "ProjectionExpression": "sk",
            }
        }
    )["Responses"][table]
    if len(present) == len(_pdf_keys(seeded)):
        return
    from chalicelib.config import settings_from_env
    from chalicelib.domain.documents import DocumentKind, DocumentRef
    from chalicelib.jobs.run import render_documents
    from chalicelib.wiring import build_container

    box = build_container(settings_from_env())
    ref = DocumentRef(seeded.account_id, DocumentKind.INVOICE, seeded.invoice_id)
    render_documents([ref], box)


def report(title: str, pairs: dict[str, list[tuple[float, float]]], bars: bool) -> bool:
    print(f"\n{title}")
    print(f"  {'family':10} {'floor ms':>9} {'app ms':>8} {'ratio':>6}  bar")
    ok = True
    for family, rows in pairs.items():
        ratio = statistics.median(app / floor for floor, app in rows)
        floor_ms = statistics.median(f for f, _ in rows) * 1000
        app_ms = statistics.median(a for _, a in rows) * 1000
        if family == "import":
            print(
                f"  {'import':10} {floor_ms:9.1f} {app_ms:8.1f} {ratio:6.2f}  (import app / "
                "import chalice, boto3)"
            )
            continue
        if family not in BARS:
            print(f"  {family:10} {floor_ms:9.1f} {app_ms:8.1f} {ratio:6.2f}  (no bar)")
            continue
        bar = BARS[family]
        verdict = "OK" if ratio <= bar else "OVER"
        ok = ok and (ratio <= bar or not bars)
        print(
            f"  {family:10} {floor_ms:9.1f} {app_ms:8.1f} {ratio:6.2f}  <= {bar} "
            f"{verdict if bars else ''}"
        )
    return ok


def unpack(zip_path: Path, into: Path) -> Target:
    """The zip unzipped read-only (as /var/task), and the runtime's own packages beside it."""
    task = into / "task"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(task)
    runtime = into / "runtime"
    runtime.mkdir()
    import importlib.util

    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (runtime / source.name).symlink_to(source)
    for path in sorted(task.rglob("*"), reverse=True):
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    task.chmod(task.stat().st_mode & ~stat.S_IWUSR)
    return Target("package", f"{task}:{runtime}", isolated=True, write_bytecode=False)


def write_probes(into: Path) -> dict[str, Path]:
    probes = {
        "app": APP_PROBE,
        "floor": FLOOR_PROBE,
        "bare": IMPORT_PROBE.format(module="chalice, boto3"),
        "import_app": IMPORT_PROBE.format(module="app"),
    }
    paths = {}
    for name, text in probes.items():
        paths[name] = into / f"probe_{name}.py"
        paths[name].write_text(text)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--stages", default="local,dev")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument(
        "--package",
        nargs="?",
        const=str(ROOT / "build" / "dev" / "deployment.zip"),
        help="also run from this deployment zip (default build/dev/deployment.zip)",
    )
    parser.add_argument("--no-source", action="store_true", help="only the package")
    parser.add_argument("--serve", action="store_true", help="keep the stack up, print probes")
    args = parser.parse_args()
    families = tuple(f for f in args.families.split(",") if f)
    stages = tuple(s for s in args.stages.split(",") if s)

    from devstack.stack import start_stack

    stack = start_stack()
    work = Path(tempfile.mkdtemp(prefix="cold-start-"))
    ok = True
    try:
        base = {**os.environ, **stack.environment}
        seeded = seed(stack.environment)
        create_secret(base, stack.aws_url)
        probes = write_probes(work)
        source = Target("source", str(ROOT), isolated=False, write_bytecode=True)
        if args.serve:
            return serve(probes, base, stack.aws_url, seeded, work)
        targets = [] if args.no_source else [source]
        if args.package:
            zip_path = Path(args.package)
            if not zip_path.exists():
                raise SystemExit(f"{zip_path}: run `make package STAGE=dev` first")
            targets.append(unpack(zip_path, work / "pkg"))
            print(f"package {zip_path}: {zip_path.stat().st_size / 1e6:.1f} MB")
        print(f"{args.rounds} alternated rounds, median of the paired ratios app / floor")
        for target in targets:
            for stage in stages:
                env = stage_env(stage, base, stack.aws_url, seeded)
                wall, cpu = measure(probes, env, target, seeded, args.rounds, families)
                title = f"{target.label}, stage {stage}"
                ok = report(f"{title} (wall)", wall, bars=stage == "local") and ok
                report(f"{title} (CPU)", cpu, bars=False)
    finally:
        stack.stop()
        for path in work.rglob("*"):
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | stat.S_IWUSR)
        work.chmod(work.stat().st_mode | stat.S_IWUSR)
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nbars (local stage): families <= 1.3, pdf <= 2.0 -> {'OK' if ok else 'OVER'}")
    return 0 if ok else 1


def serve(
    probes: dict[str, Path], base: dict[str, str], endpoint: str, seeded: Seeded, work: Path
) -> int:
    """Write one env file per stage and family, print how to time them, wait for Ctrl-C."""
    for stage in ("local", "dev"):
        env = stage_env(stage, base, endpoint, seeded)
        for family in FAMILIES:
            values = {
                **env,
                "BENCH_EVENT": json.dumps(event(family, seeded)),
                "PYTHONPATH": str(ROOT),
            }
            values.pop("PYTHONDONTWRITEBYTECODE", None)
            lines = [f"export {k}={_quote(v)}" for k, v in values.items() if k.isidentifier()]
            (work / f"env-{stage}-{family}.sh").write_text("\n".join(lines) + "\n")
    print(f"probes and env files in {work}:")
    print(f"  . {work}/env-local-login.sh; {sys.executable} {probes['app']}")
    print(f"  . {work}/env-local-login.sh; {sys.executable} {probes['floor']}")
    print("Ctrl-C (or SIGTERM) stops the stack", flush=True)
    stop = False

    def on_signal(*_: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    try:
        deadline = time.monotonic() + 3600
        while not stop and time.monotonic() < deadline:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    return 0


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


if __name__ == "__main__":
    sys.exit(main())
