// Sign-in and sign-up screens. A new account takes its time zone from the browser.

import { startSession } from './api.js';
import { browserZone } from './dates.js';
import { h, icon, replace } from './dom.js';
import { lang, setLang, t } from './i18n.js';

/** Renders the sign-in (`mode` 'signin') or sign-up ('signup') screen into `root`. */
export function renderAuth(root, mode, { onSignedIn, navigate, notice }) {
  const signup = mode === 'signup';
  const error = h('p', { class: 'form-error', role: 'alert', id: 'auth-error' });
  const email = h('input', {
    id: 'auth-email', type: 'email', name: 'email', autocomplete: 'email', required: true,
    'aria-describedby': 'auth-error', dir: 'ltr',
  });
  const password = h('input', {
    id: 'auth-password', type: 'password', name: 'password', required: true, minlength: signup ? 8 : undefined,
    autocomplete: signup ? 'new-password' : 'current-password', 'aria-describedby': signup ? 'password-hint auth-error' : 'auth-error', dir: 'ltr',
  });
  const name = signup ? h('input', { id: 'auth-name', type: 'text', name: 'name', autocomplete: 'name', dir: 'auto' }) : null;
  const zone = browserZone();
  const submit = h('button', { type: 'submit', class: 'button primary wide' }, signup ? t('sign_up') : t('sign_in'));
  const form = h('form', { class: 'auth-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'auth-email' }, t('email')), email),
    h('div', { class: 'field' },
      h('label', { for: 'auth-password' }, t('password')), password,
      signup ? h('p', { class: 'hint', id: 'password-hint' }, t('password_hint')) : null),
    signup ? h('div', { class: 'field' }, h('label', { for: 'auth-name' }, t('name_optional')), name) : null,
    signup ? h('p', { class: 'hint' }, t('timezone_detected', { zone })) : null,
    error,
    submit,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    if (!email.value.trim() || !password.value) {
      error.textContent = `${t('email')} / ${t('password')}: ${t('required')}`;
      (email.value.trim() ? password : email).focus();
      return;
    }
    submit.disabled = true;
    try {
      const body = signup
        ? { email: email.value.trim(), password: password.value, timezone: zone, name: name.value.trim() || undefined }
        : { email: email.value.trim(), password: password.value };
      const session = await startSession(signup ? '/api/v1/auth/register' : '/api/v1/auth/login', body);
      onSignedIn(session.user);
    } catch (failure) {
      const fields = (failure.errors || []).map((field) => `${field.field}: ${field.message}`).join('; ');
      error.textContent = fields || failure.message || t('error_generic');
      submit.disabled = false;
      password.focus();
    }
  });
  const other = h('p', { class: 'auth-switch' },
    signup ? t('have_account') : t('no_account'), ' ',
    h('a', {
      href: signup ? '/signin' : '/signup',
      on: { click: (event) => { event.preventDefault(); navigate(signup ? '/signin' : '/signup'); } },
    }, signup ? t('sign_in') : t('sign_up')));
  const languageButton = h('button', {
    type: 'button', class: 'button ghost small', lang: lang() === 'ur' ? 'en' : 'ur', title: t('switch_language_label'),
    on: { click: () => { setLang(lang() === 'ur' ? 'en' : 'ur'); renderAuth(root, mode, { onSignedIn, navigate }); } },
  }, icon('globe'), h('span', {}, t('switch_language')));
  replace(root,
    h('main', { class: 'auth', id: 'main' },
      h('div', { class: 'auth-card' },
        h('div', { class: 'auth-top' },
          h('div', { class: 'brand big' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, icon('done')), h('span', {}, 'tickler')),
          languageButton),
        h('h1', {}, signup ? t('sign_up_title') : t('sign_in_title')),
        h('p', { class: 'lead' }, t('sign_in_lead')),
        notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
        form,
        other)));
  email.focus();
}
