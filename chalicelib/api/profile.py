"""The signed-in account: read it, edit the profile, change the password."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from chalicelib.api.http import RequestContext, endpoint
from chalicelib.api.views import account_view
from chalicelib.wiring import container

if TYPE_CHECKING:
    from chalicelib.api import schemas

bp = Blueprint(__name__)


@endpoint(
    bp,
    "/account",
    "GET",
    tag="profile",
    summary="The signed-in account",
    response="AccountOut",
    allow_suspended=True,
)
def get_account(ctx: RequestContext) -> dict[str, Any]:
    return account_view(ctx.caller.account)


@endpoint(
    bp,
    "/account/profile",
    "PATCH",
    tag="profile",
    summary="Edit name, email, phone, language",
    body="ProfilePatchRequest",
    response="AccountOut",
    allow_suspended=True,
    errors=(409,),
)
def patch_profile(ctx: RequestContext, body: schemas.ProfilePatchRequest) -> dict[str, Any]:
    from chalicelib.services.profile import ProfileChanges

    given = body.model_fields_set
    changes = ProfileChanges(
        name=body.name,
        email=body.email,
        locale=body.locale,
        current_password=body.current_password,
        **({"phone": body.phone} if "phone" in given else {}),
    )
    return account_view(container().profile.update_profile(ctx.caller, changes))


@endpoint(
    bp,
    "/account/password",
    "POST",
    tag="profile",
    summary="Change the password",
    body="PasswordChangeRequest",
    status=204,
    allow_suspended=True,
)
def change_password(ctx: RequestContext, body: schemas.PasswordChangeRequest) -> None:
    container().profile.change_password(
        ctx.caller, body.current_password, body.new_password, body.confirm_password
    )
