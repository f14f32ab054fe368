"""Account security routes: password recovery, email proof, sessions, activity (API.md v2,
"Account security"; the rules are ``services.account_security``'s)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from chalicelib.api.http import Param, RequestContext, endpoint, int_query
from chalicelib.api.openapi import CURSOR_SCHEMA
from chalicelib.api.views import account_view
from chalicelib.domain.agents import describe_agent
from chalicelib.domain.ids import utc_iso
from chalicelib.wiring import container

if TYPE_CHECKING:
    from chalicelib.api import schemas

bp = Blueprint(__name__)


@endpoint(
    bp,
    "/password/forgot",
    "POST",
    tag="security",
    summary="Mail a password reset link (202 whatever the email)",
    auth=False,
    body="ForgotPasswordRequest",
    status=202,
)
def forgot_password(ctx: RequestContext, body: schemas.ForgotPasswordRequest) -> dict[str, Any]:
    container().security.forgot_password(body.email, ctx.ip)
    return {"status": "accepted"}


@endpoint(
    bp,
    "/password/reset",
    "POST",
    tag="security",
    summary="Choose a new password with a reset token (every session ends)",
    auth=False,
    body="ResetPasswordRequest",
    status=204,
)
def reset_password(ctx: RequestContext, body: schemas.ResetPasswordRequest) -> None:
    container().security.reset_password(
        body.token, body.new_password, body.confirm_password, ctx.ip
    )


@endpoint(
    bp,
    "/account/email/verify",
    "POST",
    tag="security",
    summary="Confirm an address with the token mailed to it (sign-up or email change)",
    auth=False,
    body="TokenRequest",
    response="AccountOut",
    errors=(409,),
)
def verify_email(ctx: RequestContext, body: schemas.TokenRequest) -> dict[str, Any]:
    return account_view(container().security.verify_email(body.token, ctx.ip))


@endpoint(
    bp,
    "/account/email/cancel",
    "POST",
    tag="security",
    summary='"This was not me": cancel an email change and end every session',
    auth=False,
    body="TokenRequest",
    status=204,
    errors=(409,),
)
def cancel_email_change(ctx: RequestContext, body: schemas.TokenRequest) -> None:
    container().security.cancel_email_change(body.token, ctx.ip)


@endpoint(
    bp,
    "/account/email/verification",
    "POST",
    tag="security",
    summary="Mail a new verification link (the older one stops working)",
    status=202,
    allow_suspended=True,
)
def resend_verification(ctx: RequestContext) -> dict[str, Any]:
    container().security.resend_verification(ctx.caller)
    return {"status": "accepted"}


@endpoint(
    bp,
    "/account/sessions",
    "GET",
    tag="security",
    summary="The account's sessions (the current one marked)",
    response="SessionListResponse",
    allow_suspended=True,
)
def list_sessions(ctx: RequestContext) -> dict[str, Any]:
    entries = container().security.sessions(ctx.caller)
    return {
        "items": [
            {
                "id": e.session.public_id,
                "created_at": utc_iso(e.session.created_at),
                "last_seen_at": utc_iso(e.session.last_seen_at),
                "user_agent": e.session.user_agent,
                "browser": describe_agent(e.session.user_agent),
                "current": e.current,
            }
            for e in entries
        ]
    }


@endpoint(
    bp,
    "/account/sessions/{session_id}",
    "DELETE",
    tag="security",
    summary="End one session (404 for another account's)",
    status=204,
    allow_suspended=True,
    errors=(404,),
)
def end_session(ctx: RequestContext, session_id: str) -> None:
    container().security.end_session(ctx.caller, session_id)


@endpoint(
    bp,
    "/account/sessions/revoke-others",
    "POST",
    tag="security",
    summary="End every session but this one",
    status=204,
    allow_suspended=True,
    errors=(409,),
)
def end_other_sessions(ctx: RequestContext) -> None:
    container().security.end_other_sessions(ctx.caller)


@endpoint(
    bp,
    "/account/activity",
    "GET",
    tag="security",
    summary="The account's security and billing events, newest first",
    response="ActivityResponse",
    allow_suspended=True,
    query=(
        Param("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
        Param("cursor", CURSOR_SCHEMA, "the next_cursor of the previous page"),
    ),
)
def activity(ctx: RequestContext) -> dict[str, Any]:
    from chalicelib.i18n.security import activity_detail, activity_label

    limit = int_query(ctx.query, "limit", default=20, low=1, high=100)
    events, cursor = container().security.activity(ctx.caller, limit, ctx.query.get("cursor"))
    return {
        "items": [
            {
                "at": utc_iso(e.at),
                "event": e.event,
                "label": activity_label(e.event, ctx.locale),
                "detail": activity_detail(e, ctx.locale),
            }
            for e in events
        ],
        "next_cursor": cursor,
    }


@endpoint(
    bp,
    "/account/mfa/totp",
    "POST",
    tag="security",
    summary="Start two-factor sign-in: a TOTP secret (active once confirmed with a code)",
    body="MfaStartRequest",
    response="MfaSetupResponse",
    errors=(409,),
)
def start_totp(ctx: RequestContext, body: schemas.MfaStartRequest) -> dict[str, Any]:
    secret, uri, qr = container().security.start_totp(ctx.caller, body.password)
    return {"secret": secret, "otpauth_uri": uri, "qr_svg": qr}


@endpoint(
    bp,
    "/account/mfa/totp/confirm",
    "POST",
    tag="security",
    summary="Confirm the TOTP setup with a code: the ten recovery codes",
    body="MfaConfirmRequest",
    response="RecoveryCodesResponse",
    errors=(409,),
)
def confirm_totp(ctx: RequestContext, body: schemas.MfaConfirmRequest) -> dict[str, Any]:
    return {"recovery_codes": container().security.confirm_totp(ctx.caller, body.code)}


@endpoint(
    bp,
    "/account/mfa",
    "DELETE",
    tag="security",
    summary="Turn two-factor sign-in off (password and code)",
    body="MfaDisableRequest",
    status=204,
    errors=(409,),
)
def disable_mfa(ctx: RequestContext, body: schemas.MfaDisableRequest) -> None:
    container().security.disable_mfa(ctx.caller, body.password, body.code)
