// Settings: time zone, notification channels (webhook, e-mail, in-app on/off, secret
// rotation), personal API tokens, language, keyboard shortcuts, sign out everywhere.

import { api, endSession } from './api.js';
import { allZones, relative } from './dates.js';
import { h, icon, replace } from './dom.js';
import { lang, setLang, t } from './i18n.js';
import { emit, showError, state } from './store.js';
import { toast } from './toast.js';

function section(id, title, help, ...content) {
  return h('section', { class: 'card', 'aria-labelledby': id },
    h('h2', { id }, title),
    help ? h('p', { class: 'hint' }, help) : null,
    ...content);
}

/** Shows a secret once, with a button to copy it. */
function secretBox(label, secret) {
  const code = h('code', { class: 'secret', dir: 'ltr', tabindex: '0' }, secret);
  return h('div', { class: 'secret-box', role: 'status' },
    h('p', {}, label), code,
    h('button', {
      type: 'button', class: 'button small',
      on: { click: () => navigator.clipboard?.writeText(secret).then(() => toast('✓', { duration: 1500 })) },
    }, 'Copy'));
}

/** Renders the settings screen. */
export function renderSettings(main, { onSignedOut, rerender }) {
  // Account: time zone.
  const zone = h('select', { id: 's-timezone' }, allZones().map((name) => h('option', { value: name, selected: name === state.user.timezone }, name)));
  const saveZone = h('button', { type: 'submit', class: 'button primary' }, t('save'));
  const account = h('form', { class: 'inline-form' },
    h('div', { class: 'field' }, h('label', { for: 's-timezone' }, t('your_timezone')), zone),
    saveZone);
  account.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      state.user = await api('PATCH', '/api/v1/me', { timezone: zone.value });
      emit('user', state.user);
      emit('tasks-changed');
      toast(t('profile_saved'), { duration: 2500 });
    } catch (error) { showError(error); }
  });

  // Notification channels.
  const channelList = h('ul', { class: 'rows' });
  const channelSecret = h('div');
  const loadChannels = async () => {
    try {
      const channels = await api('GET', '/api/v1/notification-channels');
      const inApp = channels.find((channel) => channel.kind === 'in_app');
      const rows = [channelRow(inApp || { kind: 'in_app', enabled: true })];
      for (const channel of channels.filter((item) => item.kind !== 'in_app')) rows.push(channelRow(channel));
      replace(channelList, rows);
    } catch (error) { showError(error); }
  };
  const channelRow = (channel) => {
    const id = `ch-${channel.id || 'in-app'}`;
    const toggle = h('input', { type: 'checkbox', id, checked: channel.enabled, class: 'switch' });
    toggle.addEventListener('change', async () => {
      try {
        if (channel.id) await api('PATCH', `/api/v1/notification-channels/${channel.id}`, { enabled: toggle.checked });
        else await api('POST', '/api/v1/notification-channels', { kind: 'in_app', enabled: toggle.checked });
        loadChannels();
      } catch (error) {
        toggle.checked = !toggle.checked;
        showError(error);
      }
    });
    const name = channel.kind === 'in_app' ? t('in_app') : (channel.url || channel.address);
    const kindLabel = { in_app: t('in_app'), webhook: t('webhook'), email: t('email_channel') }[channel.kind];
    const pending = channel.verification === 'pending';
    return h('li', { class: 'row-item' },
      h('div', { class: 'row-main' },
        h('span', { class: 'row-title', dir: 'ltr' }, name),
        h('span', { class: 'row-sub' }, kindLabel,
          pending ? ` · ${t('verification_pending')}` : '',
          channel.verification === 'verified' ? ` · ${t('verified')}` : '',
          channel.disabled_reason ? ` · ${t('disabled_because', { reason: channel.disabled_reason })}` : ''),
        pending ? verifyForm(channel, name) : null),
      h('div', { class: 'row-actions' },
        h('span', { class: 'switch-wrap' }, toggle, h('label', { for: id }, t('enabled'), h('span', { class: 'visually-hidden' }, `: ${name}`))),
        channel.kind === 'webhook' ? h('button', {
          type: 'button', class: 'button small', 'aria-label': `${t('rotate_secret')}: ${name}`,
          on: {
            click: async () => {
              try {
                const rotated = await api('POST', `/api/v1/notification-channels/${channel.id}/rotate-secret`);
                replace(channelSecret, secretBox(t('secret_once'), rotated.secret));
              } catch (error) { showError(error); }
            },
          },
        }, t('rotate_secret')) : null,
        channel.id && channel.kind !== 'in_app' ? h('button', {
          type: 'button', class: 'button small danger', 'aria-label': `${t('remove')}: ${name}`,
          on: { click: async () => { try { await api('DELETE', `/api/v1/notification-channels/${channel.id}`); loadChannels(); } catch (error) { showError(error); } } },
        }, t('remove')) : null));
  };
  // A pending e-mail channel: the code mailed to the address, and asking for a new one. A
  // refused code is said beside the field (and announced), in the interface's language.
  const verifyForm = (channel, name) => {
    const inputId = `verify-${channel.id}`;
    const errorId = `verify-error-${channel.id}`;
    const error = h('p', { class: 'form-error', role: 'alert', id: errorId });
    const input = h('input', { id: inputId, type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', required: true, maxlength: 20, dir: 'ltr', 'aria-describedby': errorId });
    const refused = (message) => {
      error.textContent = message;
      if (message) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    };
    const form = h('form', { class: 'inline-form' },
      h('div', { class: 'field' }, h('label', { for: inputId }, t('verification_code'), h('span', { class: 'visually-hidden' }, `: ${name}`)), input),
      h('button', { type: 'submit', class: 'button small' }, t('verify')),
      h('button', {
        type: 'button', class: 'button small', 'aria-label': `${t('send_new_code')}: ${name}`,
        on: {
          click: async () => {
            try {
              await api('POST', `/api/v1/notification-channels/${channel.id}/verification`);
              refused('');
              input.value = '';
              replace(channelSecret, h('p', { role: 'status' }, t('code_sent')));
            } catch (failure) { showError(failure); }
          },
        },
      }, t('send_new_code')),
      error);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      refused('');
      try {
        await api('POST', `/api/v1/notification-channels/${channel.id}/verify`, { code: input.value.trim() });
        replace(channelSecret, h('p', { role: 'status' }, t('address_verified', { address: name })));
        loadChannels();
      } catch (failure) {
        const known = { verification_code_invalid: 'code_wrong', verification_code_expired: 'code_expired' }[failure.code];
        refused(known ? t(known) : failure.message || t('error_generic'));
        input.focus();
      }
    });
    return form;
  };
  const addChannelForm = (kind) => {
    const inputId = `add-${kind}`;
    const input = h('input', { id: inputId, type: kind === 'webhook' ? 'url' : 'email', required: true, dir: 'ltr', placeholder: kind === 'webhook' ? 'https://hooks.example.org/tickler' : 'you@example.org' });
    const form = h('form', { class: 'inline-form' },
      h('div', { class: 'field' }, h('label', { for: inputId }, kind === 'webhook' ? t('webhook_url') : t('email_address')), input),
      h('button', { type: 'submit', class: 'button' }, icon('plus'), kind === 'webhook' ? t('add_webhook') : t('add_email')));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!input.value.trim()) return;
      try {
        const created = await api('POST', '/api/v1/notification-channels', kind === 'webhook' ? { kind, url: input.value.trim() } : { kind, address: input.value.trim() });
        input.value = '';
        if (created.secret) replace(channelSecret, secretBox(t('secret_once'), created.secret));
        loadChannels();
      } catch (error) { showError(error); }
    });
    return form;
  };

  // API tokens.
  const tokenList = h('ul', { class: 'rows' });
  const tokenSecret = h('div');
  const tokenName = h('input', { id: 's-token-name', type: 'text', required: true, maxlength: 100, dir: 'auto' });
  const tokenForm = h('form', { class: 'inline-form' },
    h('div', { class: 'field' }, h('label', { for: 's-token-name' }, t('token_name')), tokenName),
    h('button', { type: 'submit', class: 'button' }, icon('plus'), t('create_token')));
  const loadTokens = async () => {
    try {
      const tokens = await api('GET', '/api/v1/tokens');
      replace(tokenList, tokens.map((token) => h('li', { class: 'row-item' },
        h('div', { class: 'row-main' },
          h('span', { class: 'row-title', dir: 'auto' }, token.name),
          h('span', { class: 'row-sub' },
            h('code', { dir: 'ltr' }, `${token.prefix}…`), ' · ',
            t('created', { when: relative(new Date(token.created_at)) }), ' · ',
            token.last_used_at ? t('last_used', { when: relative(new Date(token.last_used_at)) }) : t('never_used'),
            token.expires_at ? ` · ${t('expires', { when: relative(new Date(token.expires_at)) })}` : '')),
        h('div', { class: 'row-actions' },
          h('button', {
            type: 'button', class: 'button small danger', 'aria-label': `${t('revoke')}: ${token.name}`,
            on: { click: async () => { try { await api('DELETE', `/api/v1/tokens/${token.id}`); loadTokens(); } catch (error) { showError(error); } } },
          }, t('revoke'))))));
    } catch (error) { showError(error); }
  };
  tokenForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!tokenName.value.trim()) return;
    try {
      const created = await api('POST', '/api/v1/tokens', { name: tokenName.value.trim() });
      tokenName.value = '';
      replace(tokenSecret, secretBox(t('token_once'), created.token));
      loadTokens();
    } catch (error) { showError(error); }
  });

  const languageSelect = h('select', { id: 's-language' },
    h('option', { value: 'en', lang: 'en', selected: lang() === 'en' }, 'English'),
    h('option', { value: 'ur', lang: 'ur', selected: lang() === 'ur' }, 'اردو'));
  languageSelect.addEventListener('change', () => { setLang(languageSelect.value); rerender(); });

  const everywhere = h('button', {
    type: 'button', class: 'button danger',
    on: { click: async () => { try { await endSession(true); } finally { onSignedOut(); } } },
  }, icon('logout'), t('sign_out_everywhere'));

  replace(main,
    h('div', { class: 'view settings' },
      h('header', { class: 'view-header' }, h('div', { class: 'view-title' }, h('h1', { id: 'view-title', tabindex: '-1' }, t('settings')))),
      section('s-account', t('account'), state.user.email, account),
      section('s-language-title', t('language'), t('appearance_help'), h('div', { class: 'field' }, h('label', { for: 's-language' }, t('language')), languageSelect)),
      section('s-channels', t('channels'), t('channels_help'), channelList, channelSecret, addChannelForm('webhook'), addChannelForm('email')),
      section('s-tokens', t('api_tokens'), t('api_tokens_help'), tokenList, tokenSecret, tokenForm),
      section('s-keys', t('keyboard'), null, h('p', { class: 'shortcuts' }, t('shortcuts_help'))),
      section('s-sessions', t('sign_out_everywhere'), t('sign_out_everywhere_help'), everywhere)));
  loadChannels();
  loadTokens();
  return { destroy() {} };
}
