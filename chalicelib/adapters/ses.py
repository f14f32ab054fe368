"""SES mailer: one plain-text mail per call through boto3's SES client.

Throttling and service faults are temporary (the outbox retries later); a rejected message
or an unverified sender is permanent.  boto3 is imported when the first mail is sent.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from chalicelib.config import Settings
from chalicelib.services.ports import MailDeliveryError

_TEMPORARY = {
    "Throttling",
    "ThrottlingException",
    "ServiceUnavailable",
    "InternalFailure",
    "RequestTimeout",
}


class SesMailer:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @cached_property
    def _client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "ses",
            region_name=self._settings.aws_region,
            endpoint_url=self._settings.aws_endpoint_url,
            config=Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 2}),
        )

    def send(self, to: str, subject: str, body: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._client.send_email(
                Source=self._settings.ses_sender,
                Destination={"ToAddresses": [to]},
                Message={
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
                },
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "ClientError")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            raise MailDeliveryError(
                code, permanent=code not in _TEMPORARY and int(status) < 500
            ) from None
        except BotoCoreError as error:
            raise MailDeliveryError(type(error).__name__, permanent=False) from None
        return str(answer["MessageId"])

    def ping(self) -> None:
        """``HealthProbe``: the SES endpoint answers HTTP within 2 s (any status below 500).

        An unsigned request on purpose: SES's read-only calls (GetSendQuota...) cannot be
        granted on the sender identity alone, and the functions' policy grants nothing wider
        (``tests/security/test_policy.py``).  This checks the network path and the service,
        not the sender's verification.
        """
        import urllib.error
        import urllib.request

        endpoint = self._settings.aws_endpoint_url or (
            f"https://email.{self._settings.aws_region}.amazonaws.com"
        )
        try:
            with urllib.request.urlopen(endpoint.rstrip("/") + "/", timeout=2) as answer:  # noqa: S310 - the configured endpoint
                answer.read(1024)
        except urllib.error.HTTPError as error:
            if error.code >= 500:
                raise MailDeliveryError(f"HTTP {error.code}", permanent=False) from None
        except OSError as error:  # refused, reset, timed out, no route
            raise MailDeliveryError(type(error).__name__, permanent=False) from None

    def verify_sender(self) -> None:
        """Verify the sender identity (the local stack needs it before SES accepts mail)."""
        self._client.verify_email_identity(EmailAddress=self._settings.ses_sender)
