"""What ``chalice package --merge-template`` adds to Chalice's SAM template, built from the code.

``make package STAGE=dev`` runs ``python -m infra.build_resources --stage dev`` (which writes
``build/resources-dev.json``), then ``chalice package --stage dev --merge-template
build/resources-dev.json build/dev`` and ``cfn-lint`` on the result.  Nothing here is written
twice: the table comes from ``table_definition()`` (keys, attribute definitions, the
``work_queue`` index, billing mode, the TTL attribute), the names from the stage's settings
(``.chalice/config.json``), the functions from ``app.py``, and the log metrics from
``chalicelib.logs.METRIC_EVENTS``.

The fragment holds:

* the table (retained on stack deletion; point-in-time recovery; deletion protection in prod);
* the charge-retry queue with its dead-letter queue (``maxReceiveCount`` 5, visibility timeout
  6x the consumer's Lambda timeout plus margin), bound to the ``@app.on_sqs_message`` consumer
  (``ReportBatchItemFailures``, so one poison message does not fail its whole batch);
* the Stripe secret (Secrets Manager; the operator puts its value, see the README runbook);
* one log group for every function (SAM ``Globals``), metric filters on the structured log
  events, an SNS topic and the alarms the README's runbook explains.

The functions' permissions are the hand-written ``.chalice/policy-<stage>.json`` (Chalice puts
it on the functions' role); ``tests/security/test_policy.py`` checks it against the calls the
code makes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "HelpDeskAccounts"
MAX_RECEIVE_COUNT = 5
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
CHALICE_API_HANDLER = "api_handler"


def _to_cfn_name(name: str) -> str:
    from chalice.utils import to_cfn_resource_name

    return str(to_cfn_resource_name(name))


# --- stage configuration ------------------------------------------------------------------------
def chalice_config(stage: str, function_name: str = CHALICE_API_HANDLER) -> Any:
    """Chalice's view of ``.chalice/config.json`` for ``stage`` (and one function)."""
    from chalice.config import Config

    on_disk = json.loads((ROOT / ".chalice" / "config.json").read_text())
    if stage not in on_disk.get("stages", {}) or stage == "local":
        raise SystemExit(f"stage {stage!r}: package a stage of .chalice/config.json besides local")
    return Config(chalice_stage=stage, function_name=function_name, config_from_disk=on_disk)


def stage_settings(stage: str) -> Any:
    """The settings the stage's functions run with (its environment variables)."""
    from chalicelib.config import settings_from_env

    env = {str(k): str(v) for k, v in chalice_config(stage).environment_variables.items()}
    return settings_from_env({**env, "STAGE": stage})


def log_group_name(stage: str) -> str:
    """The one log group every function of ``stage`` writes to."""
    return f"/aws/lambda/helpdesk-accounts-{stage}"


# --- the app's functions ------------------------------------------------------------------------
def app_functions() -> dict[str, dict[str, Any]]:
    """Chalice function name -> ``{"cfn": logical id, "kind": ..., ...}`` for ``app.py``."""
    from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig

    sys.path.insert(0, str(ROOT))
    from app import app

    functions: dict[str, dict[str, Any]] = {}
    if app.routes:
        functions[CHALICE_API_HANDLER] = {"cfn": "APIHandler", "kind": "api"}
    for source in app.event_sources:
        entry: dict[str, Any] = {"cfn": _to_cfn_name(source.name), "kind": "other"}
        if isinstance(source, ScheduledEventConfig):
            entry["kind"] = "schedule"
        elif isinstance(source, SQSEventConfig):
            entry.update(
                kind="sqs",
                queue=source.queue,
                queue_arn=source.queue_arn,
                event=_to_cfn_name(f"{source.name}-sqs-event-source"),
                batching_window=source.maximum_batching_window_in_seconds,
            )
        elif isinstance(source, DynamoDBEventConfig):
            entry.update(kind="stream", event=_to_cfn_name(f"{source.name}-dynamodb-event-source"))
        functions[source.name] = entry
    for function in app.pure_lambda_functions:
        functions[function.name] = {"cfn": _to_cfn_name(function.name), "kind": "lambda"}
    return functions


# --- the table ----------------------------------------------------------------------------------
def table_properties(
    definition: dict[str, Any], billing_mode: str, ttl: str | None
) -> dict[str, Any]:
    """``table_definition()`` (PynamoDB's CreateTable schema) as CloudFormation properties."""
    attributes = {
        a["AttributeName"]: a["AttributeType"] for a in definition["attribute_definitions"]
    }
    for index in definition.get("global_secondary_indexes", []):
        for a in index.get("attribute_definitions", []):
            attributes[a["AttributeName"]] = a["AttributeType"]
    properties: dict[str, Any] = {
        "BillingMode": billing_mode,
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind} for name, kind in attributes.items()
        ],
        "KeySchema": [
            {"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]}
            for k in definition["key_schema"]
        ],
    }
    if definition.get("global_secondary_indexes"):
        properties["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index["index_name"],
                "KeySchema": [
                    {"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]}
                    for k in index["key_schema"]
                ],
                "Projection": dict(index["projection"]),
            }
            for index in definition["global_secondary_indexes"]
        ]
    if definition.get("local_secondary_indexes"):
        properties["LocalSecondaryIndexes"] = [
            {
                "IndexName": index["index_name"],
                "KeySchema": [
                    {"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]}
                    for k in index["key_schema"]
                ],
                "Projection": dict(index["projection"]),
            }
            for index in definition["local_secondary_indexes"]
        ]
    stream = definition.get("stream_specification")
    if stream and stream.get("stream_enabled"):
        properties["StreamSpecification"] = {"StreamViewType": stream["stream_view_type"]}
    if ttl:
        properties["TimeToLiveSpecification"] = {"AttributeName": ttl, "Enabled": True}
    return properties


def code_table() -> tuple[dict[str, Any], str, str | None]:
    """The code's table: ``(table_definition(), billing mode, TTL attribute name)``."""
    from pynamodb.attributes import TTLAttribute

    from chalicelib.adapters.dynamo.models import TableItem, table_definition

    ttl = next(
        (
            attribute.attr_name
            for attribute in TableItem.get_attributes().values()
            if isinstance(attribute, TTLAttribute)
        ),
        None,
    )
    return table_definition(), str(TableItem.Meta.billing_mode), ttl


# --- alarms -------------------------------------------------------------------------------------
def _alarm(description: str, **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "AlarmActions": [{"Ref": "AlarmTopic"}],
            "OKActions": [{"Ref": "AlarmTopic"}],
            "TreatMissingData": "notBreaching",
            **properties,
        },
    }


def _log_alarm(
    stage: str, metric: str, description: str, *, period: int = 300, threshold: int = 1
) -> dict[str, Any]:
    return _alarm(
        description,
        Namespace=f"{NAMESPACE}/{stage}",
        MetricName=metric,
        Statistic="Sum",
        Period=period,
        EvaluationPeriods=1,
        Threshold=threshold,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )


def metric_filters(stage: str) -> dict[str, tuple[str, str]]:
    """Metric name -> (CloudWatch Logs filter pattern, what it counts)."""
    from chalicelib.logs import METRIC_EVENTS

    return {
        metric: (f'{{ $.event = "{event}" }}', f"log lines with event {event}")
        for event, metric in METRIC_EVENTS.items()
    }


# --- the fragment -------------------------------------------------------------------------------
def build_fragment(stage: str) -> dict[str, Any]:
    """The merge template for ``stage``."""
    from chalicelib.adapters.secrets import secret_name
    from chalicelib.jobs.run import DOCUMENT_FILTER, NEW_MAIL_FILTER

    settings = stage_settings(stage)
    functions = app_functions()
    definition, billing_mode, ttl = code_table()
    namespace = f"{NAMESPACE}/{stage}"
    prod = stage == "prod"

    table = table_properties(definition, billing_mode, ttl)
    table.update(
        TableName=settings.table_name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        SSESpecification={"SSEEnabled": True},
        DeletionProtectionEnabled=prod,
    )
    consumers = {n: f for n, f in functions.items() if f["kind"] == "sqs"}
    timeouts = [chalice_config(stage, name).lambda_timeout for name in consumers] or [
        chalice_config(stage).lambda_timeout
    ]
    windows = [int(f.get("batching_window") or 0) for f in consumers.values()] or [0]
    visibility = 6 * max(timeouts) + max(windows) + 30

    resources: dict[str, Any] = {
        "AccountsTable": {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": table,
        },
        "RetryDeadLetterQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": f"{settings.retry_queue_name}-dlq",
                "MessageRetentionPeriod": DLQ_RETENTION_SECONDS,
                "SqsManagedSseEnabled": True,
            },
        },
        "RetryQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": settings.retry_queue_name,
                "VisibilityTimeout": visibility,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["RetryDeadLetterQueue", "Arn"]},
                    "maxReceiveCount": MAX_RECEIVE_COUNT,
                },
            },
        },
        "StripeSecret": {
            "Type": "AWS::SecretsManager::Secret",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Name": secret_name(stage, {}),
                "Description": (
                    'Stripe keys of helpdesk-accounts: {"secret_key": "sk_...", '
                    '"webhook_secret": "whsec_..."} (set by the operator, see the README runbook)'
                ),
            },
        },
        "AppLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "LogGroupName": log_group_name(stage),
                "RetentionInDays": 365 if prod else 30,
            },
        },
        "AlarmTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": f"helpdesk-accounts-{stage}-alarms"},
        },
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {
                "TopicArn": {"Ref": "AlarmTopic"},
                "Protocol": "email",
                "Endpoint": {"Ref": "AlarmEmail"},
            },
        },
    }
    for metric, (pattern, _) in metric_filters(stage).items():
        resources[f"{metric}MetricFilter"] = {
            "Type": "AWS::Logs::MetricFilter",
            "Properties": {
                "LogGroupName": {"Ref": "AppLogGroup"},
                "FilterPattern": pattern,
                "MetricTransformations": [
                    {
                        "MetricNamespace": namespace,
                        "MetricName": metric,
                        "MetricValue": "1",
                        "Unit": "Count",
                    }
                ],
            },
        }

    resources["RetryDeadLetterQueueAlarm"] = _alarm(
        "Charge-retry messages reached the dead-letter queue (README runbook: DLQ).",
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[
            {"Name": "QueueName", "Value": {"Fn::GetAtt": ["RetryDeadLetterQueue", "QueueName"]}}
        ],
        Statistic="Maximum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    resources["RetryQueueAgeAlarm"] = _alarm(
        "The oldest charge-retry message waits for more than an hour (README runbook).",
        Namespace="AWS/SQS",
        MetricName="ApproximateAgeOfOldestMessage",
        Dimensions=[{"Name": "QueueName", "Value": {"Fn::GetAtt": ["RetryQueue", "QueueName"]}}],
        Statistic="Maximum",
        Period=300,
        EvaluationPeriods=3,
        Threshold=3600,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    # The relay logs ``mail.delayed`` on every temporary failure of a mail failing for over an
    # hour, at least hourly (its backoff is capped at 1 h): one hour's sum covers each retry,
    # and the alarm fires about 71 hours before the 3-day retry window gives up on the mail.
    resources["OutboxMailDelayedAlarm"] = _log_alarm(
        stage,
        "MailDelayed",
        "Outbox mail has been failing to send for over an hour (README runbook: delayed mail).",
        period=3600,
    )
    resources["OutboxMailFailedAlarm"] = _log_alarm(
        stage, "MailFailed", "An outbox mail failed for good (README runbook: failed mail)."
    )
    resources["ChargesUnknownAlarm"] = _log_alarm(
        stage, "ChargesUnknown", "A charge's outcome is unknown (README runbook: unknown charges)."
    )
    resources["UnhandledErrorsAlarm"] = _log_alarm(
        stage, "UnhandledErrors", "A request failed with an unexpected error (README runbook: 500)."
    )
    resources["ChargeDeclineRateAlarm"] = _alarm(
        "Over half of at least 10 charges in an hour were declined (README runbook: declines).",
        EvaluationPeriods=1,
        Threshold=0.5,
        ComparisonOperator="GreaterThanThreshold",
        Metrics=[
            {
                "Id": "rate",
                "Label": "declined share of charges",
                "Expression": "IF(FILL(ok, 0) + FILL(declined, 0) >= 10, "
                "FILL(declined, 0) / (FILL(ok, 0) + FILL(declined, 0)), 0)",
                "ReturnData": True,
            },
            *(
                {
                    "Id": metric_id,
                    "MetricStat": {
                        "Metric": {"Namespace": namespace, "MetricName": metric},
                        "Period": 3600,
                        "Stat": "Sum",
                    },
                    "ReturnData": False,
                }
                for metric_id, metric in (
                    ("ok", "ChargesSucceeded"),
                    ("declined", "ChargesDeclined"),
                )
            ),
        ],
    )
    for name, function in functions.items():
        resources[f"{function['cfn']}ErrorsAlarm"] = _alarm(
            f"The {name} function failed (crash or timeout) (README runbook: function errors).",
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Dimensions=[{"Name": "FunctionName", "Value": {"Ref": function["cfn"]}}],
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
    for function in consumers.values():
        # The stage's queue (app.py named it from the packaging shell's environment), created
        # first, with partial batch failures reported (JB2).
        queue_arn = "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:"
        resources[function["cfn"]] = {
            "DependsOn": ["RetryQueue"],
            "Properties": {
                "Events": {
                    function["event"]: {
                        "Properties": {
                            "Queue": {"Fn::Sub": queue_arn + settings.retry_queue_name},
                            "FunctionResponseTypes": ["ReportBatchItemFailures"],
                        }
                    }
                }
            },
        }

    # each stream function's filter (the handler checks each record again)
    stream_filters = {"outbox-stream": NEW_MAIL_FILTER, "documents-stream": DOCUMENT_FILTER}
    for name, function in functions.items():
        if function["kind"] != "stream":
            continue
        # the table's own stream (the ARN app.py registers is a placeholder), filtered to the
        # records the function wants (new outbox mail: jobs.run.NEW_MAIL_FILTER; invoices and
        # credit notes written: DOCUMENT_FILTER), retried while the record lives (24 h) and
        # split in halves on a failure so one bad record stands alone
        resources[function["cfn"]] = {
            "Properties": {
                "Events": {
                    function["event"]: {
                        "Properties": {
                            "Stream": {"Fn::GetAtt": ["AccountsTable", "StreamArn"]},
                            "FilterCriteria": {
                                "Filters": [{"Pattern": json.dumps(stream_filters[name])}]
                            },
                            "BisectBatchOnFunctionError": True,
                        }
                    }
                }
            },
        }

    return {
        "Parameters": {
            "AlarmEmail": {
                "Type": "String",
                "Default": "",
                "Description": "Where the alarms are mailed (empty: subscribe to the topic later)",
            }
        },
        "Conditions": {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}},
        "Globals": {
            "Function": {"LoggingConfig": {"LogFormat": "Text", "LogGroup": {"Ref": "AppLogGroup"}}}
        },
        "Resources": resources,
        "Outputs": {
            "TableName": {"Value": {"Ref": "AccountsTable"}},
            "RetryQueueUrl": {"Value": {"Ref": "RetryQueue"}},
            "RetryDeadLetterQueueUrl": {"Value": {"Ref": "RetryDeadLetterQueue"}},
            "StripeSecretArn": {"Value": {"Ref": "StripeSecret"}},
            "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
            "LogGroupName": {"Value": {"Ref": "AppLogGroup"}},
        },
    }


def render_template(stage: str, outdir: Path) -> Path:
    """``make package``'s template for ``stage`` without building the deployment package.

    The same Chalice packager and merge as ``chalice package``, with the code zip stubbed (it
    holds ``app.py`` only), so that the tests can lint the template offline in a second.
    """
    import os
    import zipfile
    from unittest import mock

    from chalice.cli.factory import CLIFactory
    from chalice.deploy.packager import LambdaDeploymentPackager

    outdir.mkdir(parents=True, exist_ok=True)
    fragment = outdir / f"resources-{stage}.json"
    fragment.write_text(json.dumps(build_fragment(stage), indent=2) + "\n")
    stub = outdir / "stub-deployment.zip"

    def create_stub(self: Any, project_dir: str, python_version: str) -> str:
        with zipfile.ZipFile(stub, "w") as archive:
            archive.write(ROOT / "app.py", "app.py")
        return str(stub)

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    factory = CLIFactory(project_dir=str(ROOT))
    config = factory.create_config_obj(stage)
    packager = factory.create_app_packager(
        config, factory.create_package_options(), "cloudformation", "json", str(fragment)
    )
    with mock.patch.object(LambdaDeploymentPackager, "create_deployment_package", create_stub):
        packager.package_app(config, str(outdir / stage), stage)
    return outdir / stage / "sam.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stage", required=True, help="a stage of .chalice/config.json")
    parser.add_argument("--out", help="where to write (default build/resources-<stage>.json)")
    args = parser.parse_args(argv)
    out = Path(args.out or ROOT / "build" / f"resources-{args.stage}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(build_fragment(args.stage), indent=2, sort_keys=False) + "\n")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
