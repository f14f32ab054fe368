"""Stripe.js on the embedded Stripe: ``createPaymentMethod`` completed, as the real one does.

localstripe's Stripe.js stand-in (``localstripe/localstripe-v3.js``) declares
``createPaymentMethod`` as an empty function, and its server lets a publishable key create only
tokens and sources.  So no browser could make a PaymentMethod on it, whereas the real Stripe.js
does exactly that (``POST /v1/payment_methods`` with the publishable key) and the service
accepts nothing else (``PUT /billing/card {"payment_method_id": "pm_..."}``).

:func:`install` adds one aiohttp middleware to localstripe's app before it starts serving:

* ``GET /js.stripe.com/v3/`` answers localstripe's script followed by :data:`SHIM_JS`, which
  gives the Stripe object a ``createPaymentMethod({type: 'card', card, billing_details})`` that
  posts the Element's card to ``/v1/payment_methods`` with the publishable key and answers
  ``{paymentMethod}`` or ``{error}``, as Stripe.js does;
* ``POST /v1/payment_methods`` carrying a ``pk_`` key in its form (what that script sends)
  creates the PaymentMethod; every other request reaches localstripe untouched.

localstripe's own ``confirmCardSetup`` (a SetupIntent confirmed with an Element's card) works
as it is, and is what the console uses to save a card.  Its PaymentIntents refuse
``setup_future_usage``, which the gateway sends on every on-session charge:
:func:`accept_setup_future_usage` makes them take it and show it, as Stripe's do.
"""

from __future__ import annotations

from typing import Any

SHIM_JS = r"""
;(function () {
  // Added by devstack/stripe_js.py: Stripe.js's createPaymentMethod for an Element.
  const makeStripe = Stripe;
  Stripe = function (apiKey, options) {
    const stripe = makeStripe(apiKey, options);
    stripe.createPaymentMethod = async function (data) {
      const element = data && data.card;
      const card = element && element.value && element.value.card;
      if (!card || !card.number) {
        return {error: {type: 'validation_error', code: 'incomplete_number',
                        message: 'Your card number is incomplete.'}};
      }
      const body = new URLSearchParams();
      body.append('key', apiKey);
      body.append('type', 'card');
      ['number', 'exp_month', 'exp_year', 'cvc'].forEach(function (field) {
        body.append('card[' + field + ']', card[field] || '');
      });
      const details = data.billing_details || {};
      if (details.name) body.append('billing_details[name]', details.name);
      const postal = (details.address && details.address.postal_code) || element.value.postal_code;
      if (postal) body.append('billing_details[address][postal_code]', postal);
      try {
        const response = await fetch(LOCALSTRIPE_BASE_API + '/v1/payment_methods',
                                     {method: 'POST', body: body});
        const answer = await response.json().catch(function () { return {}; });
        if (!response.ok || answer.error) {
          return {error: answer.error || {message: 'Your card could not be saved.'}};
        }
        return {paymentMethod: answer};
      } catch (err) {
        return {error: {message: String(err)}};
      }
    };
    return stripe;
  };
})();
"""


def accept_setup_future_usage() -> None:
    """Let localstripe's PaymentIntents take ``setup_future_usage`` (and show it), once."""
    from localstripe.errors import UserError
    from localstripe.resources import PaymentIntent

    original = PaymentIntent.__init__
    if getattr(original, "takes_setup_future_usage", False):
        return

    def __init__(self: Any, *args: Any, setup_future_usage: Any = None, **kwargs: Any) -> None:
        if setup_future_usage not in (None, "off_session", "on_session"):
            raise UserError(400, "Bad request")
        original(self, *args, **kwargs)
        self.setup_future_usage = setup_future_usage

    __init__.takes_setup_future_usage = True  # type: ignore[attr-defined]
    PaymentIntent.__init__ = __init__


def install() -> None:
    """Add the middleware described above to localstripe's (not yet started) app, once."""
    accept_setup_future_usage()
    from aiohttp import web
    from localstripe import server
    from localstripe.errors import UserError
    from localstripe.resources import PaymentMethod

    @web.middleware
    async def stripe_js_payment_methods(request: web.Request, handler: Any) -> web.StreamResponse:
        if (
            request.method == "POST"
            and request.path == "/v1/payment_methods"
            and "Authorization" not in request.headers
        ):
            data = await server.get_post_data(request, remove_auth=False) or {}
            key = data.pop("key", None)
            if isinstance(key, str) and key.startswith("pk_"):
                data.pop("payment_user_agent", None)
                try:
                    created = PaymentMethod._api_create(**data)
                except UserError as error:
                    return error.to_response()  # type: ignore[no-any-return]
                return server.json_response(created._export())  # type: ignore[no-any-return]
        response = await handler(request)
        if request.method == "GET" and request.path == "/js.stripe.com/v3/":
            script = getattr(response, "text", None) or ""
            return web.Response(text=script + SHIM_JS, content_type="application/javascript")
        return response  # type: ignore[no-any-return]

    if any(
        getattr(m, "__name__", "") == "stripe_js_payment_methods" for m in server.app.middlewares
    ):
        return
    server.app.middlewares.insert(0, stripe_js_payment_methods)
