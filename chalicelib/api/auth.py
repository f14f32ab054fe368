"""Sign-up, sign-in and sign-out."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.api.http import RequestContext, endpoint
from chalicelib.api.views import account_view, login_notice_view, pending_view
from chalicelib.i18n import pick_locale
from chalicelib.wiring import container

bp = Blueprint(__name__)


@endpoint(
    bp,
    "/signup",
    "POST",
    tag="auth",
    summary="Create an account (free trial)",
    auth=False,
    body="SignupRequest",
    response="SignedInResponse",
    status=201,
    errors=(409,),
)
def signup(ctx: RequestContext, body: Any) -> dict[str, Any]:
    signed_in = container().auth.signup(
        email=body.email,
        password=body.password,
        name=body.name,
        country=body.country,
        phone=body.phone,
        locale=body.locale or ctx.locale,
        ip=ctx.ip,
        user_agent=ctx.headers.get("user-agent", ""),
    )
    return {"token": signed_in.token, "account": account_view(signed_in.account)}


@endpoint(
    bp,
    "/login",
    "POST",
    tag="auth",
    summary="Sign in (send back the device_token of an earlier sign-in to use its own throttle)",
    auth=False,
    body="LoginRequest",
    response="LoginResponse",
    errors=(401, 403),
)
def login(ctx: RequestContext, body: Any) -> dict[str, Any]:
    signed_in = container().auth.login(
        body.email,
        body.password,
        ctx.ip,
        body.device_token,
        user_agent=ctx.headers.get("user-agent", ""),
        otp=body.otp,
    )
    account = signed_in.account
    locale = pick_locale(ctx.headers.get("accept-language"), account.locale)
    return {
        "token": signed_in.token,
        "device_token": signed_in.device_token,
        "account": account_view(account),
        "pending_payment": pending_view(
            list(signed_in.pending), locale, container().settings.retry_schedule_days
        ),
        "notice": login_notice_view(account, locale),
    }


@endpoint(
    bp,
    "/logout",
    "POST",
    tag="auth",
    summary="Sign out (this session)",
    status=204,
    allow_suspended=True,
)
def logout(ctx: RequestContext) -> None:
    container().auth.logout(ctx.caller)
