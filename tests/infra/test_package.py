"""``make package``: the template holds every resource, agrees with the code, and lints clean.

The template is rendered exactly as ``make package`` does (Chalice's packager and merge of
``infra/build_resources.py``'s fragment), with the deployment zip stubbed so it takes a second
and needs no package download.

* The table is not written twice: the fragment's table, deployed by the embedded moto's
  CloudFormation, describes exactly as the table ``create_table()`` makes from the code
  (keys, attribute definitions, the ``work_queue`` index and its projection, billing mode),
  and its TTL is the code's ``TTLAttribute``.
* cfn-lint (its SAM schemas included) finds no error in either stage's template.
* The queue has its dead-letter queue (5 receives) and a visibility timeout over 6x the
  consumer's timeout; the consumer reports partial batch failures; the Stripe keys live in
  Secrets Manager only; the alarms and metric filters exist and match the code's log lines.
"""

from __future__ import annotations

import json
import os
import re
import uuid
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from msgspec.structs import replace

from chalicelib.adapters.dynamo.models import create_table
from chalicelib.adapters.secrets import secret_name
from chalicelib.logs import METRIC_EVENTS, format_line
from chalicelib.services.mail import new_mail
from chalicelib.services.ports import MailDeliveryError
from infra.build_resources import (
    MAX_RECEIVE_COUNT,
    app_functions,
    build_fragment,
    chalice_config,
    code_table,
    metric_filters,
    render_template,
    stage_settings,
)

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("dev", "prod")


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("package")
    return {
        stage: {"path": (path := render_template(stage, out)), "doc": json.loads(path.read_text())}
        for stage in STAGES
    }


def _describe(client: Any, table: str) -> dict[str, Any]:
    described = client.describe_table(TableName=table)["Table"]
    return {
        "keys": described["KeySchema"],
        "attributes": sorted(described["AttributeDefinitions"], key=lambda a: a["AttributeName"]),
        "indexes": sorted(
            (
                {
                    "name": i["IndexName"],
                    "keys": i["KeySchema"],
                    "projection": i["Projection"],
                }
                for i in described.get("GlobalSecondaryIndexes", [])
            ),
            key=lambda i: i["name"],
        ),
        "local_indexes": described.get("LocalSecondaryIndexes", []),
        "billing": described["BillingModeSummary"]["BillingMode"],
        "stream": described.get("StreamSpecification"),
    }


def test_the_templates_table_is_the_table_the_code_creates(settings: Any) -> None:
    client = boto3.client(
        "dynamodb", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url
    )
    from_code = f"code-{uuid.uuid4().hex[:8]}"
    create_table(replace(settings, table_name=from_code))
    table = json.loads(json.dumps(build_fragment("dev")["Resources"]["AccountsTable"]))
    from_template = f"template-{uuid.uuid4().hex[:8]}"
    table["Properties"]["TableName"] = from_template
    stack = f"table-{uuid.uuid4().hex[:8]}"
    cloudformation = boto3.client(
        "cloudformation", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url
    )
    cloudformation.create_stack(
        StackName=stack,
        TemplateBody=json.dumps({"Resources": {"AccountsTable": table}}),
    )
    status = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    assert status == "CREATE_COMPLETE"
    assert _describe(client, from_template) == _describe(client, from_code)
    assert _describe(client, from_code)["indexes"][0]["name"] == "work_queue"

    _, billing_mode, ttl = code_table()
    assert ttl == "expires_at" and billing_mode == "PAY_PER_REQUEST"
    spec = table["Properties"]["TimeToLiveSpecification"]
    assert spec == {"AttributeName": ttl, "Enabled": True}
    described_ttl = client.describe_time_to_live(TableName=from_code)["TimeToLiveDescription"]
    assert described_ttl["AttributeName"] == ttl  # create_table() turned the same TTL on
    for stage in STAGES:
        properties = build_fragment(stage)["Resources"]["AccountsTable"]["Properties"]
        assert properties["TableName"] == stage_settings(stage).table_name


@pytest.mark.parametrize("stage", STAGES)
def test_every_function_handler_is_importable(stage: str, templates: Any) -> None:
    """Lambda imports ``app`` and calls the attribute the template's ``Handler`` names
    (``app.outbox``, ``app.retry_consumer``, ...): each must exist and be the wrapped
    handler Chalice registered (a schedule whose decorator result was dropped names an
    attribute ``app`` does not have, and that Lambda fails at every run)."""
    import app

    resources = templates[stage]["doc"]["Resources"]
    handlers = {
        r["Properties"]["Handler"]
        for r in resources.values()
        if r["Type"] == "AWS::Serverless::Function"
    }
    assert "app.app" in handlers and len(handlers) >= 9  # the API, schedules, SQS, 2 streams
    for handler in sorted(handlers):
        module, _, name = handler.partition(".")
        assert module == "app" and callable(getattr(app, name, None)), handler


STREAM_FUNCTIONS = {  # function name -> (handler, filter name in chalicelib.jobs.run)
    "outbox-stream": ("outbox_stream", "NEW_MAIL_FILTER"),
    "documents-stream": ("documents_stream", "DOCUMENT_FILTER"),
}


@pytest.mark.parametrize("name", list(STREAM_FUNCTIONS))
@pytest.mark.parametrize("stage", STAGES)
def test_the_stream_functions_read_the_tables_stream(stage: str, name: str, templates: Any) -> None:
    """New mail only, and written invoices and credit notes only (the filters), from this
    stack's table stream (not the placeholder ARN app.py registers), through the handler
    Lambda can import (app.outbox_stream, app.documents_stream)."""
    import app
    from chalicelib.jobs import run

    handler, filter_name = STREAM_FUNCTIONS[name]
    resources = templates[stage]["doc"]["Resources"]
    table = resources["AccountsTable"]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    function = resources[app_functions()[name]["cfn"]]["Properties"]
    assert function["Handler"] == f"app.{handler}" and callable(getattr(app, handler))
    (event,) = function["Events"].values()
    assert event["Type"] == "DynamoDB"
    properties = event["Properties"]
    assert properties["Stream"] == {"Fn::GetAtt": ["AccountsTable", "StreamArn"]}
    (pattern,) = properties["FilterCriteria"]["Filters"]
    assert json.loads(pattern["Pattern"]) == getattr(run, filter_name)
    assert properties["StartingPosition"] == "LATEST"


def test_every_stream_function_is_tested_above() -> None:
    streams = {n for n, f in app_functions().items() if f["kind"] == "stream"}
    assert streams == set(STREAM_FUNCTIONS)


@pytest.mark.parametrize("stage", STAGES)
def test_the_packaged_template_passes_cfn_lint(stage: str, templates: Any) -> None:
    from cfnlint.api import lint

    matches = lint(templates[stage]["path"].read_text(), regions=["us-east-1"])
    errors = [f"{m.rule.id} {m.message} ({m.linenumber})" for m in matches if m.rule.id[0] == "E"]
    assert not errors, errors


@pytest.mark.parametrize("stage", STAGES)
def test_the_template_holds_the_queue_the_secret_and_the_alarms(stage: str, templates: Any) -> None:
    doc = templates[stage]["doc"]
    resources = doc["Resources"]
    settings = stage_settings(stage)
    text = json.dumps(doc)

    queue = resources["RetryQueue"]["Properties"]
    assert queue["QueueName"] == settings.retry_queue_name
    assert queue["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVE_COUNT
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["RetryDeadLetterQueue", "Arn"]
    }
    functions = app_functions()
    consumers = {n: f for n, f in functions.items() if f["kind"] == "sqs"}
    assert consumers, "app.py has no @app.on_sqs_message consumer"
    for name, consumer in consumers.items():
        timeout = chalice_config(stage, name).lambda_timeout
        assert queue["VisibilityTimeout"] > 6 * timeout
        event = resources[consumer["cfn"]]["Properties"]["Events"][consumer["event"]]
        assert event["Type"] == "SQS"
        assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert event["Properties"]["Queue"]["Fn::Sub"].endswith(f":{settings.retry_queue_name}")
        assert "RetryQueue" in resources[consumer["cfn"]]["DependsOn"]

    schedules = [f for f in functions.values() if f["kind"] == "schedule"]
    for schedule in schedules:
        events = resources[schedule["cfn"]]["Properties"]["Events"]
        assert [e["Type"] for e in events.values()] == ["Schedule"]

    secret = resources["StripeSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Properties"]["Name"] == secret_name(stage, {})
    assert "SecretString" not in secret["Properties"]
    assert not re.search(r"\b(sk|rk)_(test|live)_|whsec_[A-Za-z0-9]", text)
    policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    for function in functions.values():
        properties = resources[function["cfn"]]["Properties"]
        assert "STRIPE_SECRET_KEY" not in properties["Environment"]["Variables"]
        role = properties["Role"]["Fn::GetAtt"][0]
        assert resources[role]["Properties"]["Policies"][0]["PolicyDocument"] == policy
    assert doc["Globals"]["Function"]["LoggingConfig"]["LogGroup"] == {"Ref": "AppLogGroup"}

    alarms = {k: v for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert {
        "RetryDeadLetterQueueAlarm",
        "OutboxMailDelayedAlarm",
        "OutboxMailFailedAlarm",
        "ChargesUnknownAlarm",
        "ChargeDeclineRateAlarm",
    } <= set(alarms)
    dlq = alarms["RetryDeadLetterQueueAlarm"]["Properties"]
    assert dlq["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["RetryDeadLetterQueue", "QueueName"]}
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert "README runbook" in alarm["Properties"]["AlarmDescription"]
    filters = {
        r["Properties"]["MetricTransformations"][0]["MetricName"]
        for r in resources.values()
        if r["Type"] == "AWS::Logs::MetricFilter"
    }
    assert set(METRIC_EVENTS.values()) <= filters
    assert {
        "ChargesSucceeded",
        "ChargesDeclined",
        "ChargesUnknown",
        "MailSent",
        "MailFailed",
        "MailDelayed",
    } <= filters
    delayed = alarms["OutboxMailDelayedAlarm"]["Properties"]
    assert (delayed["MetricName"], delayed["Period"], delayed["Threshold"]) == (
        "MailDelayed",
        3600,
        1,
    )


# --- the metric filters match what the code logs ------------------------------------------------
def matches(pattern: str, line: str) -> bool:
    """CloudWatch Logs' JSON filter syntax, the subset the template uses."""
    data = json.loads(line)
    body = pattern.strip()
    assert body.startswith("{") and body.endswith("}"), pattern
    for clause in body[1:-1].split("&&"):
        found = re.fullmatch(r'\s*\$\.(\w+)\s*(=|>=)\s*("([^"]*)"|\d+)\s*', clause)
        assert found, clause
        field, op, literal, text = found.groups()
        value = data.get(field)
        if op == "=" and value != (text if text is not None else int(literal)):
            return False
        if op == ">=" and not (isinstance(value, int | float) and value >= int(literal)):
            return False
    return True


def test_every_metric_counts_an_event_the_code_logs() -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "chalicelib").rglob("*.py"))
    filters = metric_filters("dev")
    from chalicelib.services.settlement import CHARGE_EVENTS

    for event, metric in METRIC_EVENTS.items():
        # a literal log call, or a charge outcome's event (settlement logs them by outcome)
        logged = re.search(rf"log_(event|error)\(\s*\"{re.escape(event)}\"", source)
        assert logged or event in CHARGE_EVENTS.values(), event
        pattern, _ = filters[metric]
        assert matches(pattern, format_line("info", event, {"account_id": "a"}))
        assert not matches(pattern, format_line("info", event + "x", {}))


def test_mail_delayed_counts_a_mail_failing_for_over_an_hour_well_before_it_is_given_up(
    memory_box: Any,
) -> None:
    import logging

    from chalicelib.domain.account import AccountChange, MailStatus
    from chalicelib.services.outbox import RETRY_WINDOW

    pattern, _ = metric_filters("dev")["MailDelayed"]
    created = memory_box.clock.now()
    mail = new_mail(
        to="ada@example.com",
        template="password_changed",
        locale="en",
        now=created,
        params={"name": "Ada", "at": "now", "support_email": "s@example.com"},
    )
    memory_box.repo.commit(AccountChange(mails=(mail,)))
    memory_box.mailer.fail_with = MailDeliveryError("Throttling", permanent=False)
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Keep()
    logging.getLogger("helpdesk").addHandler(handler)
    first_alarm = None
    try:
        while memory_box.repo.get_mail(mail.id).status is MailStatus.PENDING:
            before = len(lines)
            memory_box.outbox_relay.run()  # the schedule runs it every 5 minutes
            if first_alarm is None and any(matches(pattern, line) for line in lines[before:]):
                first_alarm = memory_box.clock.now()
            memory_box.clock.advance(minutes=5)
    finally:
        logging.getLogger("helpdesk").removeHandler(handler)
    assert first_alarm is not None
    assert timedelta(hours=1) <= first_alarm - created <= timedelta(hours=1, minutes=30)
    gave_up = memory_box.clock.now() - created
    assert RETRY_WINDOW <= gave_up <= RETRY_WINDOW + timedelta(minutes=10)
    delayed = [json.loads(line) for line in lines if matches(pattern, line)]
    hours = {int(d["failing_seconds"]) // 3600 for d in delayed}
    assert set(range(1, 72)) <= hours  # at least once an hour: the 1 h alarm period never lapses


# --- the deployment zip: precompiled, trimmed (infra/slim_package.py) ------------------------
def _site_packages() -> Path:
    import babel

    return Path(babel.__file__).resolve().parents[1]


def _package_like_chalice(into: Path) -> Path:
    """A zip laid out as ``chalice package`` lays one out: the app, chalicelib, Chalice's
    runtime and the installed requirements (babel, phonenumbers and msgspec whole; boto3 and
    botocore as markers), plus a C source and another Python's bytecode."""
    site = _site_packages()
    path = into / "deployment.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:

        def add(source: Path, name: str) -> None:
            for file in [source] if source.is_file() else sorted(source.rglob("*")):
                if file.is_file() and "__pycache__" not in file.parts:
                    archive.write(
                        file, f"{name}/{file.relative_to(source)}" if source.is_dir() else name
                    )

        add(ROOT / "app.py", "app.py")
        add(ROOT / "chalicelib", "chalicelib")
        chalice = site / "chalice"
        add(chalice / "__init__.py", "chalice/__init__.py")
        add(chalice / "app.py", "chalice/app.py")
        for name in ("babel", "phonenumbers", "msgspec", "babel-2.18.0.dist-info"):
            add(site / name, name)
        for name in ("boto3", "botocore"):
            add(site / name / "__init__.py", f"{name}/__init__.py")
        add(site / "botocore-1.44.8.dist-info" / "METADATA", "botocore-1.44.8.dist-info/METADATA")
        archive.writestr("somelib/_speedups.c", "int main(void) { return 0; }\n")
        archive.writestr("somelib/__init__.py", "VALUE = 1\n")
        archive.writestr("somelib/__pycache__/__init__.cpython-39.pyc", b"old")
    return path


@pytest.fixture(scope="module")
def slimmed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from infra.slim_package import slim

    out = tmp_path_factory.mktemp("slim")
    path = _package_like_chalice(out)
    before, after = slim(path, max_bytes=64 * 1024 * 1024)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        task = out / "task"
        archive.extractall(task)
    return {"path": path, "names": names, "task": task, "before": before, "after": after}


def test_every_module_of_the_zip_is_precompiled_for_the_runtime_unchecked(slimmed: Any) -> None:
    import importlib.util

    from infra.slim_package import RUNTIME

    tag = "cpython-" + RUNTIME.removeprefix("python").replace(".", "")
    names = set(slimmed["names"])
    sources = [n for n in names if n.endswith(".py")]
    assert "chalicelib/wiring.py" in sources and "app.py" in sources
    for source in sources:
        folder, _, file = source.rpartition("/")
        cached = f"{folder + '/' if folder else ''}__pycache__/{file[:-3]}.{tag}.pyc"
        assert cached in names, f"{source} has no {cached}"
    assert not [n for n in names if n.endswith(".pyc") and f".{tag}." not in n]
    with zipfile.ZipFile(slimmed["path"]) as archive:
        header = archive.read(f"chalicelib/__pycache__/wiring.{tag}.pyc")[:8]
    assert header[:4] == importlib.util.MAGIC_NUMBER
    # PEP 552 flags: hash-based (bit 0) without source check (bit 1): used on a read-only
    # /var/task whatever the files' times
    assert int.from_bytes(header[4:8], "little") == 0b01


def test_the_zip_keeps_only_the_locales_and_phone_data_used(slimmed: Any) -> None:
    names = slimmed["names"]
    locales = {n.rsplit("/", 1)[1] for n in names if n.startswith("babel/locale-data/")}
    assert locales == {"root.dat", "en.dat", "fr.dat"}
    assert "babel/global.dat" in names
    assert not [n for n in names if n.startswith(("phonenumbers/geodata", "phonenumbers/carrier"))]
    assert not [n for n in names if n.startswith(("phonenumbers/tzdata", "phonenumbers/geocoder"))]
    assert "phonenumbers/phonenumberutil.py" in names
    assert not [n for n in names if n.split("/")[0].startswith(("boto3", "botocore"))]
    assert "somelib/_speedups.c" not in names and "somelib/__init__.py" in names
    assert slimmed["after"].zipped < slimmed["before"].zipped / 2


def test_the_slimmed_zip_runs_read_only_beside_the_runtimes_boto3(
    slimmed: Any, tmp_path: Path
) -> None:
    """As in Lambda: /var/task read-only, no site-packages, boto3/botocore from the runtime.
    Money, dates and country names in both languages, a phone number, the app's import."""
    import os
    import stat
    import subprocess
    import sys

    from infra.slim_package import runtime_site

    task = slimmed["task"]
    for path in [task, *task.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    runtime = runtime_site(tmp_path / "runtime")
    probe = (
        "import sys\n"
        "from chalicelib.i18n import format_money, format_date_long, country_names\n"
        "from chalicelib.domain.contact import normalize_phone\n"
        "from datetime import datetime\n"
        "print(format_money(123456, 'EUR', 'fr'), '|', format_money(1500, 'EUR', 'en'))\n"
        "print(format_date_long(datetime(2026, 11, 26), 'fr'), '|', country_names('fr')['DE'])\n"
        "print(normalize_phone('06 12 34 56 78', 'FR'))\n"
        "import app\n"
        "import chalicelib.wiring as w\n"
        "print(w.__cached__, w.__spec__.origin)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pip', 'pytest', 'moto'}))\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-S", "-c", probe],
            env={
                "PATH": os.environ.get("PATH", ""),
                "PYTHONPATH": f"{task}:{runtime}",
                "PYTHONDONTWRITEBYTECODE": "1",
                "STAGE": "local",
                "AWS_EC2_METADATA_DISABLED": "true",
            },
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        for path in [task, *task.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].replace("\u202f", " ").replace("\xa0", " ") == "1 234,56 € | €15.00"
    assert lines[1] == "26 novembre 2026 | Allemagne"
    assert lines[2] == "+33612345678"
    assert lines[3].startswith(str(task)) and "__pycache__" in lines[3]
    assert lines[4] == "[]"
    assert not list(task.rglob("*.cpython-311.opt-*.pyc"))


def test_a_zip_over_the_bar_fails_the_build(tmp_path: Path) -> None:
    from infra.slim_package import slim

    path = tmp_path / "deployment.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("big.bin", os.urandom(64 * 1024))
    with pytest.raises(SystemExit, match="over the"):
        slim(path, max_bytes=32 * 1024)
