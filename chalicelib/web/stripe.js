// Stripe.js, loaded on demand from the address the server put in <meta name="stripe-js-url">
// (https://js.stripe.com/v3/ in AWS; the embedded Stripe's copy on the local stack) with the
// publishable key from <meta name="stripe-publishable-key">.  Card numbers are typed into
// Stripe's Element and go to Stripe only; the console sends the service a PaymentMethod id.

import { el, say } from './dom.js';
import { language, t } from './i18n.js';

export class StripeUnavailable extends Error {}

/**
 * Stripe.js refused the card (``confirmCardSetup``'s ``error``), worded from the catalogue:
 * ``key`` (card.error.*) or, for a bank's card_error Stripe.js has already put in the page's
 * language, ``text``; ``field``: the card field it is about (number, exp_month, exp_year, cvc,
 * postal_code) or null.  Stripe's own messages are not shown as they are: those of
 * invalid_request_error (localstripe's "Bad request") are in English whatever the language.
 */
export class CardRefused extends Error {
  constructor({ key = null, text = null, field = null }) {
    super(text || t(key));
    this.key = key;
    this.text = text;
    this.field = field;
  }
}

// Stripe's error codes (https://docs.stripe.com/error-codes) -> [field, catalogue key].
const CARD_ERRORS = {
  incomplete_number: ['number', 'card.error.number'],
  invalid_number: ['number', 'card.error.number'],
  incorrect_number: ['number', 'card.error.number'],
  incomplete_expiry: ['exp_month', 'card.error.expiry'],
  invalid_expiry_month: ['exp_month', 'card.error.expiry'],
  invalid_expiry_year: ['exp_year', 'card.error.expiry'],
  invalid_expiry_year_past: ['exp_year', 'card.error.expired'],
  expired_card: ['exp_year', 'card.error.expired'],
  incomplete_cvc: ['cvc', 'card.error.cvc'],
  invalid_cvc: ['cvc', 'card.error.cvc'],
  incorrect_cvc: ['cvc', 'card.error.cvc'],
  incomplete_zip: ['postal_code', 'card.error.postal'],
  incorrect_zip: ['postal_code', 'card.error.postal'],
  card_declined: [null, 'card.error.declined'],
  setup_intent_authentication_failure: [null, 'card.error.authentication'],
};

function cardRefused(error) {
  const known = CARD_ERRORS[error.code];
  if (known) return new CardRefused({ field: known[0], key: known[1] });
  if (error.type === 'card_error' && error.message) return new CardRefused({ text: error.message });
  return new CardRefused({ key: 'card.error.invalid' });
}

let loading = null;

function meta(name) {
  const node = document.querySelector(`meta[name="${name}"]`);
  return node ? node.content : '';
}

/** The Stripe object (the script is added to the page the first time). */
export function loadStripe() {
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const create = () => {
        try {
          resolve(window.Stripe(meta('stripe-publishable-key'), { locale: language() }));
        } catch (error) {
          reject(new StripeUnavailable(String(error)));
        }
      };
      if (typeof window.Stripe === 'function') {
        create();
        return;
      }
      const script = document.createElement('script');
      script.src = meta('stripe-js-url');
      script.async = true;
      script.addEventListener('load', () =>
        typeof window.Stripe === 'function' ? create() : reject(new StripeUnavailable('no Stripe')),
      );
      script.addEventListener('error', () => reject(new StripeUnavailable('load failed')));
      document.head.append(script);
    }).catch((error) => {
      loading = null; // try again next time
      throw error;
    });
  }
  return loading;
}

/** A card Element mounted in ``container``; call destroy() when the form closes. */
export async function mountCard(container) {
  const stripe = await loadStripe();
  const elements = stripe.elements({ locale: language() });
  const card = elements.create('card', { hidePostalCode: false });
  container.replaceChildren();
  card.mount(container);
  labelLocalInputs(container);
  return {
    stripe,
    card,
    destroy() {
      try {
        card.destroy();
      } catch {
        // already gone
      }
      container.replaceChildren();
    },
  };
}

// Stripe's real Element is an iframe that labels itself in the ``locale`` given to Stripe().
// The embedded Stripe's stand-in (localstripe) puts bare inputs in the page, named only by
// their placeholders ("number", "exp_month"...) after a "localstripe: " caption: here they get
// visible labels from the catalogue (following the language picker), the card autocomplete
// tokens, and keep their field in data-field (the tests type into input[data-field=number]).
const LOCAL_FIELDS = {
  number: { autocomplete: 'cc-number', inputmode: 'numeric' },
  exp_month: { autocomplete: 'cc-exp-month', inputmode: 'numeric' },
  exp_year: { autocomplete: 'cc-exp-year', inputmode: 'numeric' },
  cvc: { autocomplete: 'cc-csc', inputmode: 'numeric' },
  postal_code: { autocomplete: 'postal-code', inputmode: 'text' },
};

function labelLocalInputs(container) {
  container.querySelectorAll(':scope > span').forEach((caption) => caption.remove());
  container.querySelectorAll('input').forEach((input) => {
    const field = input.dataset.field || input.getAttribute('placeholder') || input.name || '';
    if (!(field in LOCAL_FIELDS)) return;
    const id = `card-element-${field.replace('_', '-')}`;
    input.id = id;
    input.dataset.field = field;
    input.removeAttribute('placeholder');
    input.setAttribute('autocomplete', LOCAL_FIELDS[field].autocomplete);
    input.setAttribute('inputmode', LOCAL_FIELDS[field].inputmode);
    const label = say(el('label', { for: id }), `card.field.${field}`);
    const wrap = el('span', { class: `card-field card-field-${field.replace('_', '-')}` }, label);
    input.replaceWith(wrap);
    wrap.append(input);
  });
  container.classList.add('card-element-local');
}

/**
 * Save the card typed in ``mounted`` for renewals: confirm the SetupIntent whose
 * ``clientSecret`` POST /billing/card/setup-intent gave (the bank may ask the customer to
 * authenticate now, once, instead of at a renewal).  Resolves to the PaymentMethod id that
 * PUT /billing/card then puts on file; throws Error with Stripe's message.
 */
export async function confirmCardSetup(mounted, clientSecret, billingDetails) {
  if (typeof mounted.stripe.confirmCardSetup !== 'function') {
    throw new StripeUnavailable('no confirmCardSetup');
  }
  const result = await mounted.stripe.confirmCardSetup(clientSecret, {
    payment_method: { card: mounted.card, billing_details: billingDetails },
  });
  if (!result || typeof result !== 'object') throw new StripeUnavailable('confirmCardSetup');
  if (result.error) throw cardRefused(result.error);
  const method = result.setupIntent && result.setupIntent.payment_method;
  const id = method && typeof method === 'object' ? method.id : method;
  if (!id) throw new StripeUnavailable('no payment method');
  return id;
}

/** Let the bank authenticate a payment (3-D Secure); resolves true when it succeeded. */
export async function authenticatePayment(clientSecret) {
  const stripe = await loadStripe();
  const confirm = stripe.confirmCardPayment || stripe.handleCardAction;
  if (typeof confirm !== 'function') throw new StripeUnavailable('no 3-D Secure support');
  const result = await confirm.call(stripe, clientSecret);
  if (!result || result.error) return false;
  const intent = result.paymentIntent;
  return !intent || !['requires_payment_method', 'canceled'].includes(intent.status);
}
