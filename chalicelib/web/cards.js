// "My account" > Billing information > Saved cards: every card saved with the account (GET
// /billing/cards), the default first (the one renewals and retries charge), each other card
// with "Make default" (POST /billing/cards/{id}/default) and "Remove" (DELETE
// /billing/cards/{id}: detached at Stripe).  A card given with "Update new card" becomes the
// default; the one it replaces stays here until removed.

import { api, get } from './api.js';
import { $, el, say, setText, show, showError } from './dom.js';
import { onLanguageChange, t } from './i18n.js';

const state = { cards: [], onDefaultChanged: null };

function brandName(brand) {
  const names = { visa: 'Visa', mastercard: 'Mastercard', amex: 'American Express', discover: 'Discover' };
  return names[brand] || (brand ? brand.charAt(0).toUpperCase() + brand.slice(1) : '');
}

function params(card) {
  return {
    brand: brandName(card.brand),
    last4: card.last4,
    month: String(card.exp_month).padStart(2, '0'),
    year: card.exp_year,
  };
}

/** Read and show the saved cards (the section stays hidden when there are none). */
export async function loadCards() {
  show('#saved-cards-error', false);
  try {
    state.cards = (await get('/billing/cards')).items;
  } catch (error) {
    if (error.status === 401) return;
    show('#saved-cards', true);
    showError(null, $('#saved-cards-error'), error);
    return;
  }
  render();
}

export function resetCards() {
  state.cards = [];
  $('#saved-cards-list').replaceChildren();
  setText('#saved-cards-status', '');
  show('#saved-cards', false);
}

function render() {
  const list = $('#saved-cards-list');
  show('#saved-cards', state.cards.length > 0);
  list.replaceChildren(...state.cards.map(item));
}

function item(card) {
  const p = params(card);
  const line = say(el('span', { class: 'saved-card-line' }), 'billing.cardLine', p);
  const tags = el('span', { class: 'saved-card-tags' });
  if (card.default) tags.append(say(el('span', { class: 'badge' }), 'cards.default'));
  if (card.expired) tags.append(say(el('span', { class: 'badge warning' }), 'cards.expired'));
  const actions = el('span', { class: 'saved-card-actions' });
  if (!card.default) {
    const makeDefault = say(
      el('button', { type: 'button', class: 'secondary small', dataset: { action: 'default', id: card.id } }),
      'cards.makeDefault',
    );
    makeDefault.setAttribute('aria-label', t('cards.makeDefaultLabel', p));
    const remove = say(
      el('button', { type: 'button', class: 'link small', dataset: { action: 'remove', id: card.id } }),
      'cards.remove',
    );
    remove.setAttribute('aria-label', t('cards.removeLabel', p));
    actions.append(makeDefault, remove);
  }
  return el('li', { class: 'saved-card', dataset: { id: card.id } }, line, tags, actions);
}

async function act(button) {
  const card = state.cards.find((c) => c.id === button.dataset.id);
  if (!card) return;
  const list = $('#saved-cards-list');
  const status = $('#saved-cards-status');
  show('#saved-cards-error', false);
  setText(status, '');
  const buttons = Array.from(list.querySelectorAll('button'));
  buttons.forEach((b) => {
    b.disabled = true;
  });
  list.setAttribute('aria-busy', 'true');
  try {
    const id = encodeURIComponent(card.id);
    if (button.dataset.action === 'remove') {
      await api('DELETE', `/billing/cards/${id}`);
      state.cards = state.cards.filter((c) => c.id !== card.id);
      render();
      say(status, 'cards.removed', params(card));
    } else {
      const { data } = await api('POST', `/billing/cards/${id}/default`);
      state.cards = data.items;
      render();
      say(status, 'cards.defaultSet', params(card));
      if (state.onDefaultChanged) await state.onDefaultChanged();
    }
  } catch (error) {
    if (error.status === 401) return;
    showError(null, $('#saved-cards-error'), error);
    buttons.forEach((b) => {
      if (b.isConnected) b.disabled = false;
    });
  } finally {
    list.removeAttribute('aria-busy');
    const first = list.querySelector('button');
    if (document.activeElement === document.body && first) first.focus();
  }
}

/** Wire the list's buttons; ``onDefaultChanged``: refresh what shows the card on file. */
export function setupCards({ onDefaultChanged }) {
  state.onDefaultChanged = onDefaultChanged;
  onLanguageChange(() => {
    if (state.cards.length) render(); // the buttons' labels name the card in the new language
  });
  $('#saved-cards-list').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    if (button && !button.disabled) act(button);
  });
}
