// The admin page: log in (or find the session), then show every section.
/* global document */
import { api, session } from './api.js';
import { notify } from './dom.js';
import { initHubs, loadHubs } from './hubs.js';
import { initLogging, loadLogging } from './logging.js';
import { connectServices, disconnectServices, initServices } from './services.js';
import { initUserjobs, loadReplicas, loadUserjobs } from './userjobs.js';

const $ = (id) => document.getElementById(id);

function showLogin(message = '') {
  disconnectServices();
  session.csrf = null;
  session.credential = null;
  $('app').hidden = true;
  $('nav').hidden = true;
  $('who').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  for (const dialog of document.querySelectorAll('dialog[open]')) dialog.close();
  $('login-credential').focus();
}

function showApp(answer) {
  session.csrf = answer.csrf;
  session.credential = answer.credential;
  session.replica = answer.replica;
  $('who-name').textContent = answer.credential;
  $('who-replica').textContent = answer.replica;
  $('login').hidden = true;
  $('app').hidden = false;
  $('nav').hidden = false;
  $('who').hidden = false;
  connectServices();
  void loadHubs();
  void loadLogging();
  void loadUserjobs();
  void loadReplicas();
}

async function login(event) {
  event.preventDefault();
  const credential = $('login-credential').value.trim();
  const password = $('login-password').value;
  const token = $('login-token').value.trim();
  const body = token ? { token } : { credential, password };
  try {
    const answer = await api('login', { method: 'POST', body });
    $('login-password').value = '';
    $('login-token').value = '';
    notify('');
    showApp(answer);
  } catch (err) {
    $('login-error').textContent = err.status === 403
      ? `${err.message} (HTTP 403)`
      : err.status === 401 ? 'Wrong credential, password or token.' : err.message;
  }
}

async function logout() {
  try {
    await api('logout', { method: 'POST', body: {} });
  } catch {
    // logged out anyway
  }
  showLogin('');
  notify('Logged out.');
}

async function boot() {
  initServices();
  initHubs();
  initLogging();
  initUserjobs();
  $('login-form').addEventListener('submit', (e) => void login(e));
  $('logout').addEventListener('click', () => void logout());
  document.addEventListener('admin:logged-out', () => {
    if (session.csrf !== null) showLogin('Your session ended: log in again.');
  });
  try {
    showApp(await api('session'));
  } catch {
    showLogin('');
  }
}

void boot();
