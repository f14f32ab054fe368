"""Least privilege: ``.chalice/policy-<stage>.json`` grants the calls the code makes, and no more.

Method: every AWS call the service's code makes is recorded at the botocore level while it
runs against the embedded moto server (``aws_calls.py``), as the IAM actions AWS authorizes
for it and the resource it touched.  Then, for each stage's hand-written policy:

* it is wired (``autogen_policy: false`` + ``iam_policy_file`` in ``.chalice/config.json``);
* no action has a wildcard, and every resource is one of this stack's: the table and its
  indexes (from ``table_definition()``), the retry queue, the SES sender identity, the Stripe
  secret, the functions' log group;
* the calls of a full journey over HTTP and every job (plus the retry queue's producer and
  consumer and the Secrets Manager read, which only run in AWS stages) are granted on the
  stage's equivalent resources, and every granted action is one of those calls or one the
  platform makes with the functions' role (Lambda's logs, the SQS event source's polling);
* the last test of the session checks that every call any test made is granted.
"""

from __future__ import annotations

import fnmatch
import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from msgspec.structs import replace

from chalicelib.adapters.dynamo.models import table_definition
from chalicelib.adapters.secrets import SecretsManagerSource, secret_name
from chalicelib.adapters.sqs import SqsChargeQueue
from chalicelib.jobs.run import consume_retry_messages
from infra.build_resources import app_functions, log_group_name, stage_settings
from tests.security.aws_calls import RECORDER, Call

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("dev", "prod")
LAMBDA_LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
SQS_EVENT_SOURCE = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
STREAM_EVENT_SOURCE = {
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
}


def policy(stage: str) -> dict[str, Any]:
    return dict(json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text()))


def _list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def granted(stage: str) -> list[tuple[set[str], list[str]]]:
    """``[(actions, resources)]`` of the policy's statements."""
    out = []
    for statement in policy(stage)["Statement"]:
        assert statement["Effect"] == "Allow" and "NotAction" not in statement
        assert "NotResource" not in statement
        out.append((set(_list(statement["Action"])), _list(statement["Resource"])))
    return out


def allows(stage: str, action: str, resource: str) -> bool:
    return any(
        action in actions and any(fnmatch.fnmatchcase(resource, r) for r in resources)
        for actions, resources in granted(stage)
    )


def granted_actions(stage: str) -> set[str]:
    return {a for actions, _ in granted(stage) for a in actions}


def platform_actions() -> set[str]:
    """Actions made with the functions' role by Lambda itself, not by the code."""
    kinds = {f["kind"] for f in app_functions().values()}
    return (
        LAMBDA_LOGS
        | (SQS_EVENT_SOURCE if "sqs" in kinds else set())
        | (STREAM_EVENT_SOURCE if "stream" in kinds else set())
    )


def stage_resources(stage: str) -> dict[str, list[str]]:
    """Every resource the stage's policy may name, by service."""
    s = stage_settings(stage)
    domain = s.ses_sender.split("@", 1)[1]
    indexes = [i["index_name"] for i in table_definition().get("global_secondary_indexes", [])]
    table = f"arn:aws:dynamodb:*:*:table/{s.table_name}"
    return {
        "dynamodb": [
            table,
            *(f"{table}/index/{name}" for name in indexes),
            f"{table}/stream/*",  # the outbox relay's event source (Lambda polls it)
        ],
        "sqs": [f"arn:aws:sqs:*:*:{s.retry_queue_name}"],
        "ses": [f"arn:aws:ses:*:*:identity/{s.ses_sender}", f"arn:aws:ses:*:*:identity/{domain}"],
        "secretsmanager": [f"arn:aws:secretsmanager:*:*:secret:{secret_name(stage, {})}-??????"],
        "logs": [f"arn:aws:logs:*:*:log-group:{log_group_name(stage)}:*"],
    }


def stage_arn(stage: str, call: Call, *local: Any) -> str:
    """The ARN, in ``stage``, of the resource a call made in the tests touched.

    ``local`` are the settings the calls ran with: their table and sender are the ones the
    code may touch (the stage's own, once deployed).
    """
    s = stage_settings(stage)
    service = call.action.split(":")[0]
    if service == "dynamodb":
        table, _, index = call.resource.partition("/")
        assert table in {settings.table_name for settings in local}, call
        suffix = f"/{index}" if index else ""
        return f"arn:aws:dynamodb:us-east-1:123456789012:table/{s.table_name}{suffix}"
    if service == "sqs":
        return f"arn:aws:sqs:us-east-1:123456789012:{s.retry_queue_name}"
    if service == "ses":
        assert call.resource in {settings.ses_sender for settings in local}, call
        return f"arn:aws:ses:us-east-1:123456789012:identity/{s.ses_sender}"
    if service == "secretsmanager":
        return (
            f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{secret_name(stage, {})}-AbC123"
        )
    raise AssertionError(f"a call to a service no policy covers: {call}")


def aws_only_calls(box: Any) -> list[Call]:
    """The calls only AWS stages make: the retry queue (producer and consumer), the secret."""
    settings = box.settings
    client = {
        "region_name": settings.aws_region,
        "endpoint_url": settings.aws_endpoint_url,
    }
    mark = RECORDER.mark()
    sqs = boto3.client("sqs", **client)
    queue = f"policy-test-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    SqsChargeQueue(replace(settings, retry_queue_name=queue)).send([("a" * 32, "in_missing")])
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    consume_retry_messages([(m["MessageId"], m["Body"]) for m in messages], box)
    name = f"helpdesk-accounts/policy-test-{uuid.uuid4().hex[:8]}/stripe"
    boto3.client("secretsmanager", **client).create_secret(
        Name=name,
        SecretString=json.dumps({"secret_key": "sk_test_x", "webhook_secret": "whsec_x"}),
    )
    SecretsManagerSource(settings, name).get()
    calls = RECORDER.since(mark)
    assert {c.action for c in calls} >= {
        "sqs:GetQueueUrl",
        "sqs:SendMessage",
        "secretsmanager:GetSecretValue",
    }
    return calls


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_uses_its_hand_written_policy(stage: str) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"][stage]
    assert config["autogen_policy"] is False
    assert config["iam_policy_file"] == f"policy-{stage}.json"


@pytest.mark.parametrize("stage", STAGES)
def test_no_wildcard_action_and_only_this_stacks_resources(stage: str) -> None:
    allowed = stage_resources(stage)
    for actions, resources in granted(stage):
        for action in actions:
            assert "*" not in action and "?" not in action, action
        services = {a.split(":")[0] for a in actions}
        assert len(services) == 1, actions
        (service,) = services
        for resource in resources:
            assert resource in allowed[service], (stage, resource)
    statement = next(s for s in policy(stage)["Statement"] if "ses:SendEmail" in s["Action"])
    sender = stage_settings(stage).ses_sender
    assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": sender}}


@pytest.mark.parametrize("stage", STAGES)
def test_the_policy_grants_a_full_journeys_calls_and_nothing_else(
    stage: str, journey: Any, box: Any
) -> None:
    calls = journey.calls + aws_only_calls(box)
    assert {c.action.split(":")[0] for c in journey.calls} >= {"dynamodb", "ses"}
    missing = sorted(
        {
            (c.action, c.origin)
            for c in calls
            if not allows(stage, c.action, stage_arn(stage, c, box.settings, journey.settings))
        }
    )
    assert not missing, f"policy-{stage}.json lacks (action, caller): {missing}"
    unused = granted_actions(stage) - {c.action for c in calls} - platform_actions()
    assert not unused, f"policy-{stage}.json grants what no code calls: {sorted(unused)}"


def test_every_call_the_suite_made_is_granted() -> None:
    """Runs last (see conftest): every call of every test, against each stage's policy."""
    made = RECORDER.actions()
    assert made, "no AWS call was recorded"
    for stage in STAGES:
        missing = {
            (c.action, c.origin) for c in RECORDER.calls if c.action not in granted_actions(stage)
        }
        assert not missing, f"policy-{stage}.json lacks (action, caller): {sorted(missing)}"
