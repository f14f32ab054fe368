// "My account" > Billing > Credit notes ("Avoirs"), beside the invoices: each credit note with
// the invoice it credits, its total, its refund (when money goes back to the card) and "Print"
// / "PDF" (the same print frame and download as invoices, from /billing/credit-notes).

import { get } from './api.js';
import { $, el, show, showError } from './dom.js';
import { formatDate, formatMoney, t } from './i18n.js';
import { documentAction } from './billing.js';

const BASE = '/billing/credit-notes';
const state = { notes: [], nextCursor: null };

export async function loadCreditNotes(more = false) {
  const errorBox = $('#credit-notes-error');
  show(errorBox, false);
  try {
    const query = more && state.nextCursor ? `?cursor=${encodeURIComponent(state.nextCursor)}` : '';
    const page = await get(`${BASE}${query}`);
    state.notes = more ? [...state.notes, ...page.items] : page.items;
    state.nextCursor = page.next_cursor;
    render();
  } catch (error) {
    if (error.status === 401) return;
    showError(null, errorBox, error);
  }
}

export function resetCreditNotes() {
  state.notes = [];
  state.nextCursor = null;
  $('#credit-notes-body').replaceChildren();
  show('#credit-notes-section', false);
}

function render() {
  const body = $('#credit-notes-body');
  body.replaceChildren(
    ...state.notes.map((note) => {
      const hidden = (text) => el('span', { class: 'visually-hidden' }, text);
      const action = (label, kind, cls) =>
        el(
          'button',
          { type: 'button', class: `${cls} small`, dataset: { action: kind, id: note.id } },
          label,
          hidden(` ${note.number}`),
        );
      const refund = note.refund
        ? el('span', { class: `badge ${note.refund.status}` }, t(`creditNote.refund.${note.refund.status}`))
        : el('span', { class: 'hint' }, t(`creditNote.reason.${note.reason}`));
      return el(
        'tr',
        {},
        el('th', { scope: 'row', 'data-label': t('creditNotes.number') }, note.number),
        el('td', { 'data-label': t('creditNotes.date') }, formatDate(note.issued_at)),
        el('td', { 'data-label': t('creditNotes.invoice') }, note.invoice_number),
        el('td', { class: 'num', 'data-label': t('creditNotes.total') }, formatMoney(note.total, note.currency)),
        el('td', { 'data-label': t('creditNotes.refund') }, refund),
        el(
          'td',
          { class: 'row-actions' },
          action(t('invoices.print'), 'print', 'secondary'),
          action(t('invoices.pdfShort'), 'pdf', 'link'),
        ),
      );
    }),
  );
  const any = state.notes.length > 0;
  show('#credit-notes-section', any); // shown once there is one: most accounts have none
  show('#credit-notes-more', Boolean(state.nextCursor));
}

export function setupCreditNotes() {
  $('#credit-notes-body').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    if (!button) return;
    const note = state.notes.find((item) => item.id === button.dataset.id);
    if (note) documentAction(button.dataset.action, note, $('#credit-notes-error'), BASE);
  });
  $('#credit-notes-more').addEventListener('click', () => loadCreditNotes(true));
}
