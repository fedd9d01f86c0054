/**
 * The simulator's customer page: one self-contained HTML document (inline CSS and vanilla JS,
 * no build step, no external resource), in English or French. It calls `api/*` relative to
 * its own path, so it works wherever the simulator is mounted. Pure string building.
 */

export type PageLanguage = 'en' | 'fr';

const nb = '\u00a0'; // French puts a no-break space before : ; ! ?

export const PAGE_STRINGS: Record<PageLanguage, Record<string, string>> = {
  en: {
    title: 'WhatsApp simulator',
    intro: 'Play the customer: what you send here reaches Relais as signed WhatsApp webhooks, and the business replies appear below.',
    business: 'Business number', name: 'Your name', number: 'Your WhatsApp number (digits, with country code)',
    defaultName: 'Alex Martin', placeholder: 'Type a message', send: 'Send', attach: 'Attach a file', voice: 'Send audio as a voice note',
    location: 'Send a location', latitude: 'Latitude', longitude: 'Longitude', placeName: 'Place name', sendLocation: 'Send this location',
    reply: 'Reply', replyingTo: 'Replying to', cancel: 'Cancel', react: 'React', you: 'You', businessLabel: 'Business',
    markSent: 'Sent', markDelivered: 'Delivered', markRead: 'Read', markFailed: 'Failed', markAs: 'Mark as:',
    accepted: 'accepted by WhatsApp', sent: 'sent', delivered: 'delivered', read: 'read', failed: 'failed',
    webhookOk: 'received by Relais', webhookFailed: 'refused by Relais (HTTP {s})', unreachable: 'Relais unreachable',
    seen: 'seen by the business', empty: 'No messages yet. Say hello!', template: 'Template', reacted: 'Reaction',
    removedReaction: 'Reaction removed', file: 'File', contact: 'Contact', setup: 'Connection details',
    graphBase: 'Graph API base for Relais (WHATSAPP_API_URL)', webhookUrl: 'Webhooks are sent to', phoneNumberId: 'phone_number_id',
    error: 'Something went wrong', invalidNumber: 'Enter your number as digits with the country code, e.g. 33612345678.',
    otherLanguage: 'Français', otherLanguageCode: 'fr', chooseOption: 'Choose',
  },
  fr: {
    title: 'Simulateur WhatsApp',
    intro: 'Jouez le client : ce que vous envoyez ici arrive à Relais sous forme de webhooks WhatsApp signés, et les réponses de l\u2019entreprise s\u2019affichent ci-dessous.'.replace(' :', `${nb}:`),
    business: 'Numéro de l\u2019entreprise', name: 'Votre nom', number: 'Votre numéro WhatsApp (chiffres, avec l\u2019indicatif pays)',
    defaultName: 'Camille Durand', placeholder: 'Écrivez un message', send: 'Envoyer', attach: 'Joindre un fichier', voice: 'Envoyer l\u2019audio comme message vocal',
    location: 'Envoyer une position', latitude: 'Latitude', longitude: 'Longitude', placeName: 'Nom du lieu', sendLocation: 'Envoyer cette position',
    reply: 'Répondre', replyingTo: 'En réponse à', cancel: 'Annuler', react: 'Réagir', you: 'Vous', businessLabel: 'Entreprise',
    markSent: 'Envoyé', markDelivered: 'Distribué', markRead: 'Lu', markFailed: 'Échec', markAs: `Marquer comme${nb}:`,
    accepted: 'accepté par WhatsApp', sent: 'envoyé', delivered: 'distribué', read: 'lu', failed: 'échec',
    webhookOk: 'reçu par Relais', webhookFailed: 'refusé par Relais (HTTP {s})', unreachable: 'Relais injoignable',
    seen: 'vu par l\u2019entreprise', empty: `Aucun message pour l\u2019instant. Dites bonjour${nb}!`, template: 'Modèle', reacted: 'Réaction',
    removedReaction: 'Réaction retirée', file: 'Fichier', contact: 'Contact', setup: 'Détails de connexion',
    graphBase: 'Base de l\u2019API Graph pour Relais (WHATSAPP_API_URL)', webhookUrl: 'Les webhooks sont envoyés à', phoneNumberId: 'phone_number_id',
    error: 'Une erreur est survenue', invalidNumber: 'Saisissez votre numéro en chiffres avec l\u2019indicatif pays, par exemple 33612345678.',
    otherLanguage: 'English', otherLanguageCode: 'en', chooseOption: 'Choisir',
  },
};

/** `?lang=` wins, then the first English or French entry of Accept-Language by q-value, else English. */
export function pickLanguage(queryLang: string | undefined, acceptLanguage: string | undefined): PageLanguage {
  const primary = (tag: string): string => (tag.trim().toLowerCase().split('-')[0] ?? '');
  if (queryLang && (primary(queryLang) === 'fr' || primary(queryLang) === 'en')) return primary(queryLang) as PageLanguage;
  const ranked = (acceptLanguage ?? '').split(',')
    .map((part, i) => {
      const [tag = '', ...params] = part.split(';');
      const q = Number(params.map((p) => p.trim()).find((p) => p.startsWith('q='))?.slice(2) ?? '1');
      return { lang: primary(tag), q: Number.isFinite(q) ? q : 0, i };
    })
    .filter((x) => x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  const hit = ranked.find((x) => x.lang === 'fr' || x.lang === 'en');
  return (hit?.lang as PageLanguage | undefined) ?? 'en';
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#e9e4dc;color:#1f2328}
header{background:#075e54;color:#fff;padding:10px 16px;display:flex;gap:12px;align-items:center;flex-wrap:wrap}
header h1{font-size:18px;margin:0;flex:1}header a{color:#d9fdd3}
.wrap{max-width:820px;margin:0 auto;padding:12px}
.card{background:#fff;border-radius:8px;padding:10px 12px;margin-bottom:10px}
.row{display:flex;gap:8px;flex-wrap:wrap;align-items:end}.row label{display:flex;flex-direction:column;font-size:12px;color:#555;flex:1;min-width:160px}
input,button,select{font:inherit}input[type=text],input[type=number]{padding:6px 8px;border:1px solid #ccc;border-radius:6px}
button{border:1px solid #128c7e;background:#fff;color:#075e54;border-radius:16px;padding:4px 10px;cursor:pointer}
button.primary{background:#128c7e;color:#fff}button:disabled{opacity:.5}
#chat{min-height:240px;display:flex;flex-direction:column;gap:6px;padding:8px 0}
.msg{max-width:80%;padding:6px 10px;border-radius:8px;box-shadow:0 1px 1px rgba(0,0,0,.1);white-space:pre-wrap;word-wrap:break-word}
.me{align-self:flex-end;background:#d9fdd3}.biz{align-self:flex-start;background:#fff}
.meta{font-size:11px;color:#667;margin-top:4px}.bad{color:#b00020}
.quote{border-left:3px solid #128c7e;padding-left:6px;margin-bottom:4px;font-size:12px;color:#555}
.actions{display:flex;gap:4px;flex-wrap:wrap;margin-top:4px}.actions button{font-size:12px;padding:2px 8px}
.choices{display:flex;flex-direction:column;gap:4px;margin-top:6px}
img.media,video.media{max-width:260px;max-height:260px;border-radius:6px;display:block}
#composer{position:sticky;bottom:0;background:#f0f0f0;padding:8px;border-radius:8px}
#composer .row input[type=text]{flex:1}#error{color:#b00020;min-height:1em}
.empty{color:#667;text-align:center}details{font-size:13px}code{word-break:break-all}
`;

const SCRIPT = `
(() => {
const T = JSON.parse(document.getElementById('i18n').textContent);
const here = location.pathname.replace(/index\\.html$/, '');
const base = here.endsWith('/') ? here : here + '/';
const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; };
const api = async (path, init) => {
  const r = await fetch(base + 'api/' + path, init);
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(typeof j.error === 'string' ? j.error : 'HTTP ' + r.status);
  return j;
};
const post = (path, body) => api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const EMOJI = ['\\u{1F44D}', '\\u2764\\uFE0F', '\\u{1F602}', '\\u{1F62E}', '\\u{1F622}', '\\u{1F64F}'];
let replyTo = null, state = null, lastJson = '';
const nameInput = $('name'), numberInput = $('number'), text = $('text');
nameInput.value = localStorage.getItem('relais-sim-name') || T.defaultName;
numberInput.value = localStorage.getItem('relais-sim-number') || '33612345678';
nameInput.addEventListener('change', () => { localStorage.setItem('relais-sim-name', nameInput.value); lastJson = ''; refresh(); });
numberInput.addEventListener('change', () => { localStorage.setItem('relais-sim-number', numberInput.value); lastJson = ''; refresh(); });
const showError = (msg) => { $('error').textContent = msg || ''; };
const customer = () => {
  const waId = numberInput.value.replace(/\\D/g, '');
  if (!/^\\d{5,15}$/.test(waId)) { showError(T.invalidNumber); return null; }
  return { waId, name: nameInput.value.trim() || T.defaultName };
};
const setReply = (wamid, label) => { replyTo = wamid ? { wamid, label } : null; $('replybar').hidden = !replyTo; $('replylabel').textContent = replyTo ? T.replyingTo + ' \\u201C' + label + '\\u201D' : ''; };
async function send(content, context) {
  const c = customer(); if (!c) return;
  const body = { customer: c, content };
  if (context) body.replyTo = context;
  try { await post('messages', body); showError(''); await refresh(); } catch (e) { showError(T.error + ': ' + e.message); }
}
const mediaUrl = (id) => base + 'api/media/' + encodeURIComponent(id);
function mediaNode(kind, id, filename) {
  if (kind === 'image' || kind === 'sticker') { const i = el('img', 'media'); i.src = mediaUrl(id); i.alt = filename || kind; return i; }
  if (kind === 'video' || kind === 'audio') { const v = el(kind, kind === 'video' ? 'media' : ''); v.controls = true; v.src = mediaUrl(id); return v; }
  const a = el('a', '', '\\u{1F4CE} ' + (filename || T.file)); a.href = mediaUrl(id); a.target = '_blank'; a.rel = 'noopener'; return a;
}
function describeInbound(c) {
  switch (c.type) {
    case 'text': return c.body;
    case 'location': return '\\u{1F4CD} ' + (c.name ? c.name + ' ' : '') + '(' + c.latitude + ', ' + c.longitude + ')';
    case 'reaction': return (c.emoji ? T.reacted + ' ' + c.emoji : T.removedReaction);
    case 'button_reply': case 'list_reply': return '\\u21A9 ' + c.title;
    case 'button': return '\\u21A9 ' + c.text;
    case 'contacts': return T.contact;
    default: return c.caption || '';
  }
}
function describeOutbound(m) {
  const b = m.body, o = b[m.type] || {};
  switch (m.type) {
    case 'text': return o.body;
    case 'template': return '[' + T.template + ' ' + o.name + ' \\u00B7 ' + (o.language && o.language.code) + '] ' + (m.templateText || '');
    case 'interactive': return [o.header && o.header.text, o.body && o.body.text, o.footer && o.footer.text].filter(Boolean).join('\\n');
    case 'reaction': return (o.emoji ? T.reacted + ' ' + o.emoji : T.removedReaction);
    case 'location': return '\\u{1F4CD} ' + (o.name || '') + ' (' + o.latitude + ', ' + o.longitude + ')';
    case 'contacts': return T.contact + ': ' + (b.contacts || []).map((c) => c.name && c.name.formatted_name).join(', ');
    default: return (o.caption || '') + (o.link ? '\\n' + o.link : '');
  }
}
function snippet(wamid) {
  if (!state) return '';
  const i = state.inbound.find((x) => x.wamid === wamid); if (i) return describeInbound(i.content) || i.content.type;
  const o = state.outbound.find((x) => x.wamid === wamid); if (o) return describeOutbound(o) || o.type;
  return wamid.slice(0, 16) + '\\u2026';
}
function choice(label, onClick) { const btn = el('button', '', label); btn.type = 'button'; btn.addEventListener('click', onClick); return btn; }
function renderInbound(r) {
  const d = el('div', 'msg me');
  if (r.replyTo) d.append(el('div', 'quote', snippet(r.replyTo)));
  const c = r.content;
  if (c.mediaId) d.append(mediaNode(c.type, c.mediaId, c.filename));
  if (c.type === 'reaction') d.append(el('div', 'quote', snippet(c.messageId)));
  const t = describeInbound(c); if (t) d.append(el('div', '', t));
  const ok = r.webhookStatus !== null && r.webhookStatus >= 200 && r.webhookStatus < 300;
  const meta = el('div', 'meta' + (ok ? '' : ' bad'), new Date(r.at).toLocaleTimeString() + ' \\u00B7 ' +
    (r.webhookStatus === null ? T.unreachable : ok ? T.webhookOk : T.webhookFailed.replace('{s}', r.webhookStatus)) +
    (state.reads.includes(r.wamid) ? ' \\u00B7 \\u2713\\u2713 ' + T.seen : ''));
  d.append(meta);
  return d;
}
function renderOutbound(m) {
  const d = el('div', 'msg biz'), o = m.body[m.type] || {};
  if (m.body.context && m.body.context.message_id) d.append(el('div', 'quote', snippet(m.body.context.message_id)));
  if (m.type === 'reaction') d.append(el('div', 'quote', snippet(o.message_id)));
  if (o.id && ['image', 'video', 'audio', 'document', 'sticker'].includes(m.type)) d.append(mediaNode(m.type, o.id, o.filename));
  d.append(el('div', '', describeOutbound(m)));
  const choices = el('div', 'choices');
  if (m.type === 'interactive' && o.type === 'button') for (const b of (o.action && o.action.buttons) || []) choices.append(choice(b.reply.title, () => send({ type: 'button_reply', id: b.reply.id, title: b.reply.title }, m.wamid)));
  if (m.type === 'interactive' && o.type === 'list') for (const s of (o.action && o.action.sections) || []) for (const row of s.rows || []) choices.append(choice(row.title + (row.description ? ' \\u2014 ' + row.description : ''), () => send({ type: 'list_reply', id: row.id, title: row.title, description: row.description }, m.wamid)));
  if (m.type === 'interactive' && o.type === 'cta_url' && o.action && o.action.parameters) choices.append(el('div', 'meta', o.action.parameters.display_text + ': ' + o.action.parameters.url));
  if (m.type === 'template') for (const label of m.templateButtons || []) choices.append(choice(label, () => send({ type: 'button', payload: label, text: label }, m.wamid)));
  if (choices.childNodes.length) d.append(choices);
  d.append(el('div', 'meta' + (m.delivery === 'failed' ? ' bad' : ''), new Date(m.at).toLocaleTimeString() + ' \\u00B7 ' + T[m.delivery]));
  const actions = el('div', 'actions');
  actions.append(el('span', 'meta', T.markAs));
  for (const [s, label] of [['sent', T.markSent], ['delivered', T.markDelivered], ['read', T.markRead], ['failed', T.markFailed]]) {
    actions.append(choice(label, async () => { try { await post('statuses', { wamid: m.wamid, status: s }); await refresh(); } catch (e) { showError(T.error + ': ' + e.message); } }));
  }
  actions.append(choice(T.reply, () => setReply(m.wamid, describeOutbound(m) || m.type)));
  for (const e of EMOJI) { const b = choice(e, () => send({ type: 'reaction', messageId: m.wamid, emoji: e })); b.title = T.react; actions.append(b); }
  d.append(actions);
  return d;
}
function render() {
  const c = customer(); const chat = $('chat'); chat.textContent = '';
  if (!state || !c) return;
  $('bizNumber').textContent = state.business.displayPhoneNumber;
  $('graphBase').textContent = state.graphBase; $('webhookUrl').textContent = state.webhookUrl; $('phoneId').textContent = state.business.phoneNumberId;
  const items = state.inbound.filter((r) => r.customer.waId === c.waId).map((r) => ({ at: r.at, node: () => renderInbound(r) }))
    .concat(state.outbound.filter((m) => m.waId === c.waId).map((m) => ({ at: m.at, node: () => renderOutbound(m) })))
    .sort((a, b) => a.at - b.at);
  if (!items.length) chat.append(el('p', 'empty', T.empty));
  for (const it of items) chat.append(it.node());
}
async function refresh() {
  try {
    const s = await api('state');
    const json = JSON.stringify(s);
    if (json === lastJson) return;
    const grow = !state || s.inbound.length + s.outbound.length !== state.inbound.length + state.outbound.length;
    lastJson = json; state = s; render();
    if (grow) window.scrollTo(0, document.body.scrollHeight);
  } catch (e) { showError(T.error + ': ' + e.message); }
}
$('composerForm').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const body = text.value.trim(); if (!body) return;
  const ctx = replyTo && replyTo.wamid; text.value = ''; setReply(null);
  send({ type: 'text', body }, ctx);
});
$('cancelReply').addEventListener('click', () => setReply(null));
$('file').addEventListener('change', async () => {
  const f = $('file').files[0]; if (!f) return;
  try {
    const fd = new FormData(); fd.append('file', f);
    const m = await api('media', { method: 'POST', body: fd });
    const content = { type: m.type, mediaId: m.mediaId };
    const caption = text.value.trim();
    if (caption && ['image', 'video', 'document'].includes(m.type)) content.caption = caption;
    if (m.type === 'document') content.filename = m.filename || 'document';
    if (m.type === 'audio') content.voice = $('voice').checked;
    const ctx = replyTo && replyTo.wamid; text.value = ''; setReply(null);
    await send(content, ctx);
  } catch (e) { showError(T.error + ': ' + e.message); }
  $('file').value = '';
});
$('toggleLocation').addEventListener('click', () => { $('locationForm').hidden = !$('locationForm').hidden; });
$('locationForm').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const latitude = Number($('lat').value), longitude = Number($('lng').value), name = $('place').value.trim();
  const content = { type: 'location', latitude, longitude }; if (name) content.name = name;
  $('locationForm').hidden = true; send(content);
});
refresh(); setInterval(refresh, 1500);
})();
`;

/** The whole page for `lang`. `nonce` must match the Content-Security-Policy header sent with it. */
export function renderPage(lang: PageLanguage, nonce: string): string {
  const t = PAGE_STRINGS[lang];
  const s = (key: string): string => escapeHtml(t[key] ?? key);
  const i18n = JSON.stringify(t).replace(/</g, '\\u003c');
  const n = escapeHtml(nonce);
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${s('title')} · Relais</title>
<style nonce="${n}">${STYLE}</style>
</head>
<body>
<header><h1>${s('title')}</h1><span>${s('business')}: <strong id="bizNumber"></strong></span><a href="?lang=${s('otherLanguageCode')}" hreflang="${s('otherLanguageCode')}">${s('otherLanguage')}</a></header>
<div class="wrap">
<p class="card">${s('intro')}</p>
<div class="card row">
<label>${s('name')}<input id="name" type="text" maxlength="100" autocomplete="off"></label>
<label>${s('number')}<input id="number" type="text" inputmode="numeric" maxlength="20" autocomplete="off"></label>
</div>
<main id="chat" aria-live="polite"></main>
<div id="composer">
<div id="replybar" class="quote" hidden><span id="replylabel"></span> <button type="button" id="cancelReply">${s('cancel')}</button></div>
<form id="composerForm" class="row"><input id="text" type="text" placeholder="${s('placeholder')}" aria-label="${s('placeholder')}" maxlength="4096" autocomplete="off"><button class="primary" type="submit">${s('send')}</button></form>
<div class="row">
<label>${s('attach')}<input id="file" type="file"></label>
<label><span><input id="voice" type="checkbox"> ${s('voice')}</span></label>
<button type="button" id="toggleLocation">${s('location')}</button>
</div>
<form id="locationForm" class="row" hidden>
<label>${s('latitude')}<input id="lat" type="number" step="any" min="-90" max="90" value="48.8584" required></label>
<label>${s('longitude')}<input id="lng" type="number" step="any" min="-180" max="180" value="2.2945" required></label>
<label>${s('placeName')}<input id="place" type="text" value="Tour Eiffel"></label>
<button class="primary" type="submit">${s('sendLocation')}</button>
</form>
<div id="error" role="alert"></div>
</div>
<details class="card"><summary>${s('setup')}</summary>
<p>${s('graphBase')}: <code id="graphBase"></code></p>
<p>${s('webhookUrl')}: <code id="webhookUrl"></code></p>
<p>${s('phoneNumberId')}: <code id="phoneId"></code></p>
</details>
</div>
<script type="application/json" id="i18n">${i18n}</script>
<script nonce="${n}">${SCRIPT}</script>
</body>
</html>`;
}
