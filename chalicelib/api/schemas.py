"""Request and response models (pydantic): the validation of every body and the source of
``/openapi.json``.

Requests forbid unknown fields (mass assignment, typos) and are strict about types (no
``"12"`` for ``12``).  This module is imported on the first request, not at cold start.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

NoControl = r"^[^\x00-\x1f\x7f]*$"

Email = Annotated[str, StringConstraints(min_length=3, max_length=254, pattern=NoControl)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NoControl)
]
Phone = Annotated[str, StringConstraints(max_length=32, pattern=NoControl)]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
Locale = Literal["en", "fr"]
Timestamp = Annotated[str, Field(description="ISO 8601 UTC time with a Z suffix")]


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- requests -------------------------------------------------------------------------------
class SignupRequest(RequestModel):
    email: Email
    password: Password
    name: Name
    country: Country
    phone: Phone | None = None
    locale: Locale | None = None


class LoginRequest(RequestModel):
    email: Annotated[str, StringConstraints(max_length=254)]
    password: Password


class ProfilePatchRequest(RequestModel):
    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = Field(default=None, description="null or empty removes the number")
    locale: Locale | None = None
    current_password: Password | None = Field(
        default=None, description="required when email changes"
    )


class PasswordChangeRequest(RequestModel):
    current_password: Password
    new_password: Password
    confirm_password: Password


# --- responses ------------------------------------------------------------------------------
class ErrorDetail(ResponseModel):
    model_config = ConfigDict(extra="allow")
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorResponse(ResponseModel):
    error: ErrorDetail


class HealthResponse(ResponseModel):
    status: Literal["ok"]


class PlanOut(ResponseModel):
    id: str
    name: str
    amount: int
    currency: str
    interval: Literal["month", "year"]


class PlansResponse(ResponseModel):
    items: list[PlanOut]


class VendorResponse(ResponseModel):
    name: str
    support_email: str
    vat_contact_email: str
    vat_number: str | None


class CountryOut(ResponseModel):
    code: str
    name: str
    vat_applicable: bool


class CountriesResponse(ResponseModel):
    items: list[CountryOut]


class AccountOut(ResponseModel):
    id: str
    email: str
    name: str
    phone: str | None
    locale: Locale
    country: str
    status: Literal[
        "trial", "active", "past_due", "suspended", "cancelled", "reactivation_requested"
    ]
    plan: str | None
    trial_ends_at: Timestamp | None
    created_at: Timestamp


class SignedInResponse(ResponseModel):
    token: str
    account: AccountOut


class LoginResponse(ResponseModel):
    token: str
    account: AccountOut
    pending_payment: dict[str, object] | None
