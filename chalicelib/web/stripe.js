// Stripe.js, loaded on demand from the address the server put in <meta name="stripe-js-url">
// (https://js.stripe.com/v3/ in AWS; the embedded Stripe's copy on the local stack) with the
// publishable key from <meta name="stripe-publishable-key">.  Card numbers are typed into
// Stripe's Element and go to Stripe only; the console sends the service a PaymentMethod id.

import { language, t } from './i18n.js';

export class StripeUnavailable extends Error {}

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
  labelFallbackInputs(container);
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

// Stripe's real Element is an iframe with its own labels.  A stand-in that puts bare inputs in
// the page (the embedded Stripe) gets accessible names here.
function labelFallbackInputs(container) {
  container.querySelectorAll('input').forEach((input) => {
    const field = input.getAttribute('placeholder') || input.name || '';
    if (!input.hasAttribute('aria-label') && field) {
      input.setAttribute('aria-label', t(`card.field.${field}`));
      input.setAttribute('inputmode', 'numeric');
      input.setAttribute('autocomplete', 'off');
    }
  });
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
  if (result.error) throw new Error(result.error.message || t('error.generic'));
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
