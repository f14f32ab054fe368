// The signed-in session: the bearer token in sessionStorage (this tab only, gone when it
// closes; never localStorage, never a cookie) and the account in memory.  Listeners hear
// 'signed-in', 'account' (the account changed) and 'signed-out' (with the reason: 'signout',
// 'expired' on a 401, 'cancelled' after cancelling the account).

const TOKEN_KEY = 'helpdesk.token';

function readToken() {
  try {
    return window.sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

let token = readToken();
let account = null;
const listeners = new Set();

function emit(event, detail) {
  listeners.forEach((listener) => listener(event, detail));
}

export const session = {
  token: () => token,
  account: () => account,
  signedIn: () => Boolean(token),

  start(newToken, newAccount) {
    token = newToken;
    account = newAccount;
    try {
      window.sessionStorage.setItem(TOKEN_KEY, newToken);
    } catch {
      // kept in memory only
    }
    emit('signed-in', account);
  },

  setAccount(newAccount) {
    account = newAccount;
    emit('account', account);
  },

  end(reason) {
    const had = Boolean(token);
    token = null;
    account = null;
    try {
      window.sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // nothing stored
    }
    if (had) emit('signed-out', reason);
  },

  expire() {
    this.end('expired');
  },

  on(listener) {
    listeners.add(listener);
  },
};
