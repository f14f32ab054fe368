// The console's entry point: wires the views, the user menu, the language picker and the
// session together, and routes between views.
//
// Views: sign-in and home at "/", "My account" at "/#/account", the reactivation page at
// "/reactivate" (the address the API gives for cancelled accounts).  The server answers
// index.html for both paths; everything else happens here.  There is no inline script: the
// page's configuration comes from <meta> tags (see stripe.js).

import { get, api } from './api.js';
import { loadBilling, openCardDialog, relabelBillingDialogs, resetBilling, setupBilling } from './billing.js';
import { closeDialog, setupDialogs } from './dialogs.js';
import { $, $$, clearApiMessages, clearStatusMessages, flash, setText, show } from './dom.js';
import { applyTranslations, formatDate, language, onLanguageChange, setLanguage, t } from './i18n.js';
import { renderMfa, setupMfa } from './mfa.js';
import { relabelPending, setupPending, showPendingDialog } from './pending.js';
import { renderProfile, setupProfile } from './profile.js';
import { relabelReactivate, setupReactivate, showReactivate } from './reactivate.js';
import {
  enterSecurityPage,
  loadActivity,
  loadSessions,
  relabelSecurity,
  renderSecurity,
  securityPage,
  setupSecurity,
} from './security.js';
import { session } from './session.js';
import { resetSignin, setupSignin } from './signin.js';

const VIEWS = ['signin', 'home', 'account', 'reactivate', 'signup', 'forgot', 'reset', 'verify', 'notme'];
const ACCOUNT_HASH = '#/account';
let currentView = null;

// --- views ----------------------------------------------------------------------------------------
function showView(name) {
  const changed = currentView !== name;
  const first = currentView === null;
  currentView = name;
  VIEWS.forEach((view) => show(`#view-${view}`, view === name));
  if (changed && !first) {
    clearStatusMessages();
    window.scrollTo(0, 0);
    const heading = $(`#view-${name} h1`);
    if (heading) heading.focus();
  }
}

function renderHeader() {
  const account = session.signedIn() ? session.account() : null;
  show('#user-menu-wrap', Boolean(account));
  if (account) {
    setText('#menu-name', account.name);
    setText('#menu-email', account.email);
  }
}

function renderHome() {
  const account = session.account();
  if (!account) return;
  setText('#home-title', t('home.welcome', { name: account.name }));
  const lines = {
    trial: t('home.trial', { date: formatDate(account.trial_ends_at) }),
    active: t('home.active'),
    past_due: t('home.pastDue'),
    suspended: t('home.pastDue'),
  };
  setText('#home-status', lines[account.status] || '');
  // An ended trial: what to do, with the way to it (the sign-in answer's ``notice`` says the same).
  const expired = account.status === 'trial_expired';
  show('#home-trial-expired', expired);
  if (expired) setText('#home-trial-expired-text', t('home.trialExpired', { date: formatDate(account.trial_ends_at) }));
}

async function route() {
  closeMenu(false);
  if (window.location.pathname.replace(/\/+$/, '') === '/reactivate') {
    if (currentView !== 'reactivate') showReactivate();
    renderHeader();
    showView('reactivate');
    return;
  }
  const page = securityPage(window.location.hash);
  if (page) {
    // sign-up, forgot/reset password and the mailed links: open signed in or not
    const [view, token] = page;
    if (currentView !== view || token) enterSecurityPage(view, token);
    renderHeader();
    showView(view);
    return;
  }
  if (!session.signedIn()) {
    renderHeader();
    showView('signin');
    return;
  }
  if (!session.account()) {
    try {
      session.setAccount(await get('/account'));
    } catch (error) {
      if (error.status !== 401) flash('error.generic', 'error');
      return;
    }
  }
  renderHeader();
  if (window.location.hash === ACCOUNT_HASH) {
    const entering = currentView !== 'account';
    showView('account');
    if (entering) {
      renderProfile(session.account());
      renderSecurity(session.account());
      renderMfa(session.account());
      loadBilling();
      loadSessions();
      loadActivity();
    }
  } else {
    renderHome();
    showView('home');
  }
}

function navigate(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

/** Back to "/" (keeping "#/account" when asked: signing in again returns there). */
function goHome(keepHash = false) {
  const target = keepHash && window.location.hash === ACCOUNT_HASH ? `/${ACCOUNT_HASH}` : '/';
  if (`${window.location.pathname}${window.location.search}${window.location.hash}` !== target) {
    window.history.replaceState(null, '', target);
  }
}

// --- the user menu (a menu button: arrows, Home/End, Escape, Tab) --------------------------------
function menuItems() {
  return $$('#user-menu [role=menuitem]');
}

function openMenu(index = 0) {
  show('#user-menu-panel', true);
  $('#user-button').setAttribute('aria-expanded', 'true');
  const items = menuItems();
  items[(index + items.length) % items.length].focus();
}

function closeMenu(returnFocus) {
  const panel = $('#user-menu-panel');
  if (panel.hidden) return;
  panel.hidden = true;
  $('#user-button').setAttribute('aria-expanded', 'false');
  if (returnFocus) $('#user-button').focus();
}

function setupMenu() {
  const button = $('#user-button');
  const panel = $('#user-menu-panel');
  button.addEventListener('click', () => (panel.hidden ? openMenu(0) : closeMenu(false)));
  button.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown') {
      event.preventDefault();
      openMenu(0);
    } else if (event.key === 'ArrowUp') {
      event.preventDefault();
      openMenu(-1);
    }
  });
  panel.addEventListener('keydown', (event) => {
    const items = menuItems();
    const index = items.indexOf(document.activeElement);
    const moves = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: items.length - 1 };
    if (event.key in moves) {
      event.preventDefault();
      items[(moves[event.key] + items.length) % items.length].focus();
    } else if (event.key === 'Escape') {
      event.preventDefault();
      closeMenu(true);
    } else if (event.key === 'Tab') {
      closeMenu(false);
    }
  });
  document.addEventListener('click', (event) => {
    if (!$('#user-menu-wrap').contains(event.target)) closeMenu(false);
  });
  $('#menu-account').addEventListener('click', (event) => {
    event.preventDefault();
    closeMenu(false);
    navigate(ACCOUNT_HASH);
  });
  $('#menu-signout').addEventListener('click', async () => {
    closeMenu(false);
    await api('POST', '/logout').catch(() => null);
    session.end('signout');
  });
}

// --- session events -------------------------------------------------------------------------------
const SIGNED_OUT_MESSAGES = {
  signout: 'signin.signedOut',
  expired: 'signin.expired',
  cancelled: 'signin.cancelled',
};

function onSignedOut(reason) {
  $$('dialog[open]').forEach((dialog) => closeDialog(dialog));
  resetBilling();
  goHome(reason === 'expired');
  renderHeader();
  showView('signin');
  resetSignin(SIGNED_OUT_MESSAGES[reason] || 'signin.signedOut');
}

function afterSignIn(data, messageKey) {
  goHome(true);
  route().then(() => {
    if (messageKey) flash(messageKey, 'success');
    if (data.pending_payment) showPendingDialog(data.pending_payment, null);
  });
}

// --- start ----------------------------------------------------------------------------------------
function setupLanguage() {
  const select = $('#lang-select');
  select.value = language();
  select.addEventListener('change', () => setLanguage(select.value));
  onLanguageChange(() => {
    select.value = language();
    clearApiMessages();
    renderHeader();
    renderHome();
    relabelReactivate();
    if (currentView === 'account') {
      loadBilling();
      renderSecurity(session.account());
      renderMfa(session.account());
      loadSessions();
      loadActivity();
    }
    relabelSecurity();
    relabelBillingDialogs();
    relabelPending();
  });
}

// The next action (a form sent, a button pressed; not a menu or a dialog's "Close") starts
// without the previous action's message; the action's own message comes after this.
function setupStatusMessages() {
  document.addEventListener('submit', clearStatusMessages, true);
  document.addEventListener(
    'click',
    (event) => {
      if (event.target.closest('button:not([aria-haspopup]):not([data-close]), [role=menuitem]')) {
        clearStatusMessages();
      }
    },
    true,
  );
}

function start() {
  applyTranslations(document);
  setupStatusMessages();
  setupDialogs();
  setupLanguage();
  setupMenu();
  setupSignin({ onSignedIn: (data) => afterSignIn(data) });
  setupReactivate({ onSignedIn: (data) => afterSignIn(data, 'home.reactivated') });
  setupProfile();
  setupMfa();
  setupSecurity({
    onSignedUp: (data) => {
      window.history.replaceState(null, '', '/');
      afterSignIn(data, 'signup.welcome');
    },
    onReset: () => {
      window.history.replaceState(null, '', '/');
      route().then(() => {
        resetSignin();
        flash('reset.done', 'success');
      });
    },
  });
  const refreshAccount = () =>
    get('/account')
      .then((account) => session.setAccount(account))
      .catch(() => null);
  setupBilling({ onPendingSettled: refreshAccount });
  setupPending({
    openCard: (opener, options) => openCardDialog(opener, options),
    refresh: () => (currentView === 'account' ? loadBilling() : refreshAccount()),
  });
  session.on((event, detail) => {
    if (event === 'signed-out') onSignedOut(detail);
    if (event === 'account') {
      renderHeader();
      renderHome();
      if (currentView === 'account') renderSecurity(session.account());
    }
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('popstate', route);
  route();
  document.body.dataset.ready = 'true';
}

start();
