// Pop-ups are native <dialog> elements opened with showModal(): the rest of the page becomes
// inert, Escape closes them (the 'cancel' event), and the browser puts them in the top layer.
// We add: focus on the first field when opened, Tab and Shift+Tab wrapping around inside,
// focus back on the control that opened them when closed, and [data-close] buttons.

import { $$ } from './dom.js';

const openers = new WeakMap();

export function openDialog(dialog, opener = document.activeElement) {
  if (dialog.open) return;
  openers.set(dialog, opener instanceof HTMLElement ? opener : null);
  dialog.showModal();
  focusFirst(dialog);
}

function focusable(container) {
  const candidates = container.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button, [href], [tabindex]:not([tabindex="-1"])',
  );
  return Array.from(candidates).filter(
    (node) => !node.disabled && !node.closest('[hidden]') && node.getClientRects().length > 0,
  );
}

export function focusFirst(container) {
  (focusable(container)[0] || container).focus();
}

// The page behind a modal dialog is inert already; Tab past the last control (or Shift+Tab
// before the first) wraps around instead of leaving for the browser's own interface.
function trapTab(dialog, event) {
  if (event.key !== 'Tab') return;
  const nodes = focusable(dialog);
  if (!nodes.length) return;
  const first = nodes[0];
  const last = nodes[nodes.length - 1];
  if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
    event.preventDefault();
    last.focus();
  } else if (
    !event.shiftKey &&
    (document.activeElement === last || !dialog.contains(document.activeElement))
  ) {
    event.preventDefault();
    first.focus();
  }
}

export function closeDialog(dialog) {
  if (dialog.open) dialog.close();
}

/** Closing should not give focus back to the opener (another dialog takes over). */
export function handOver(dialog) {
  openers.set(dialog, null);
}

export function setupDialogs() {
  $$('dialog').forEach((dialog) => {
    dialog.addEventListener('close', () => {
      const opener = openers.get(dialog);
      openers.delete(dialog);
      if (opener && opener.isConnected && !opener.closest('[hidden]')) opener.focus();
      else if (!document.querySelector('dialog[open]')) {
        const heading = document.querySelector('.view:not([hidden]) h1');
        if (heading) heading.focus();
      }
    });
    dialog.addEventListener('keydown', (event) => trapTab(dialog, event));
    dialog.querySelectorAll('[data-close]').forEach((button) => {
      button.addEventListener('click', () => closeDialog(dialog));
    });
  });
}
