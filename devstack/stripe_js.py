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
  ``{paymentMethod}`` or ``{error}``, as Stripe.js does; both it and ``confirmCardSetup`` first
  check the typed card as Stripe.js does (a ``validation_error`` with Stripe's ``code``:
  ``incomplete_number``, ``invalid_number``, ``invalid_expiry_month``... instead of
  localstripe's bare "Bad request");
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
  // Added by devstack/stripe_js.py: Stripe.js's createPaymentMethod for an Element, and its
  // checks of the Element's card before any request (a validation_error with Stripe's code).
  const MESSAGES = {
    incomplete_number: 'Your card number is incomplete.',
    invalid_number: 'Your card number is invalid.',
    incomplete_expiry: 'Your card\'s expiration date is incomplete.',
    invalid_expiry_month: 'Your card\'s expiration month is invalid.',
    invalid_expiry_year: 'Your card\'s expiration year is invalid.',
    invalid_expiry_year_past: 'Your card\'s expiration year is in the past.',
    incomplete_cvc: 'Your card\'s security code is incomplete.',
  };
  function luhn(digits) {
    let sum = 0;
    for (let i = 0; i < digits.length; i += 1) {
      let d = Number(digits[digits.length - 1 - i]);
      if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    return sum % 10 === 0;
  }
  function cardProblem(card) {
    const digits = String((card && card.number) || '').replace(/[\s-]/g, '');
    if (!digits) return 'incomplete_number';
    if (!/^\d+$/.test(digits) || digits.length > 19) return 'invalid_number';
    if (digits.length < 13) return 'incomplete_number';
    if (!luhn(digits)) return 'invalid_number';
    const month = String(card.exp_month || '');
    const typed = String(card.exp_year || '');  // localstripe's Element puts '20' before it
    if (!month || typed === '' || typed === '20') return 'incomplete_expiry';
    const year = typed.startsWith('20') ? typed.slice(2) : typed;
    if (!/^\d{1,2}$/.test(month) || Number(month) < 1 || Number(month) > 12) {
      return 'invalid_expiry_month';
    }
    if (!/^\d{2}$/.test(year)) return 'invalid_expiry_year';
    const now = new Date();
    const [y, m] = [2000 + Number(year), Number(month)];
    if (y < now.getFullYear() || (y === now.getFullYear() && m < now.getMonth() + 1)) {
      return 'invalid_expiry_year_past';
    }
    if (!/^\d{3,4}$/.test(String(card.cvc || ''))) return 'incomplete_cvc';
    return null;
  }
  function validationError(element) {
    const code = cardProblem(element && element.value && element.value.card);
    return code ? {error: {type: 'validation_error', code: code, message: MESSAGES[code]}} : null;
  }
  const makeStripe = Stripe;
  Stripe = function (apiKey, options) {
    const stripe = makeStripe(apiKey, options);
    const confirmCardSetup = stripe.confirmCardSetup;
    stripe.confirmCardSetup = async function (clientSecret, data) {
      const element = data && data.payment_method && data.payment_method.card;
      if (element && typeof element === 'object' && 'listeners' in element) {
        const refused = validationError(element);
        if (refused) return refused;
      }
      return confirmCardSetup.call(this, clientSecret, data);
    };
    stripe.createPaymentMethod = async function (data) {
      const element = data && data.card;
      const refused = validationError(element);
      if (refused) return refused;
      const card = element.value.card;
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
