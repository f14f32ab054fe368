"""SES mailer: one plain-text mail per call through boto3's SES client.

Classification (EM2, EM3): only what cannot succeed on a retry is permanent -- SES refusing the
message (``MessageRejected``: an unverified sender or identity, a blocked recipient),
``MailFromDomainNotVerifiedException``, ``InvalidParameterValue`` (a malformed address) and a
request botocore refuses to build (``ParamValidationError``).  Everything else is temporary
and retried by the outbox for its 3-day window: throttling (``Throttling``,
``ThrottlingException``, daily quota), 5xx, access or account problems an operator can fix,
and every transport error (read and connect timeouts, connection resets,
``EndpointConnectionError``), after botocore's own quick retries.  An unknown error code is
temporary: a wrong guess costs a delayed mail and an alarm, never a lost one.

boto3 is imported when the first mail is sent (cold start).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from chalicelib.config import Settings
from chalicelib.services.ports import MailDeliveryError

PERMANENT_CODES = frozenset(
    {
        "MessageRejected",
        "MailFromDomainNotVerifiedException",
        "MailFromDomainNotVerified",
        "InvalidParameterValue",
    }
)


class SesMailer:
    def __init__(
        self,
        settings: Settings,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        max_attempts: int = 2,
    ) -> None:
        self._settings = settings
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_attempts = max_attempts

    @cached_property
    def _client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "ses",
            region_name=self._settings.aws_region,
            endpoint_url=self._settings.aws_endpoint_url,
            config=Config(
                connect_timeout=self._connect_timeout,
                read_timeout=self._read_timeout,
                retries={"max_attempts": self._max_attempts},
            ),
        )

    def send(self, to: str, subject: str, body: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

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
            code = str(error.response.get("Error", {}).get("Code") or "ClientError")
            raise MailDeliveryError(code, permanent=code in PERMANENT_CODES) from None
        except ParamValidationError:
            raise MailDeliveryError("ParamValidationError", permanent=True) from None
        except BotoCoreError as error:  # timeouts, resets, unreachable endpoint, credentials
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
