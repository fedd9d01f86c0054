import { Hono } from 'hono';
import { html, raw } from 'hono/html';
import type { Language } from '../../core/i18n.js';

export interface HomeInfo {
  version: string;
  database: string;
  keySource: string;
  webhookUrl?: string;
  simulatorUrl?: string;
  chat: string;
  missing: string[];
  warnings: string[];
}

const WORDS = {
  en: { title: 'Relais is running', next: 'What to configure next', none: 'Nothing: Relais is fully configured.', webhook: 'Webhook URL for Meta', sim: 'WhatsApp simulator', simHint: 'No WhatsApp credentials are set, so the built-in simulator stands in for Meta: open it to write to your bridge as a customer.', db: 'Database', key: 'Encryption key', chat: 'Chat platform', warn: 'Warnings', docs: 'Every setting is documented in docs/configuration.md.' },
  fr: { title: 'Relais fonctionne', next: 'À configurer ensuite', none: 'Rien : Relais est entièrement configuré.', webhook: 'URL du webhook pour Meta', sim: 'Simulateur WhatsApp', simHint: 'Aucun identifiant WhatsApp n\'est configuré : le simulateur intégré remplace Meta. Ouvrez-le pour écrire au pont comme un client.', db: 'Base de données', key: 'Clé de chiffrement', chat: 'Messagerie d\'équipe', warn: 'Avertissements', docs: 'Chaque réglage est décrit dans docs/configuration.md.' },
} as const;

/** `GET /`: a plain status page saying exactly what to configure next. No secret is ever shown. */
export function homeRoutes(info: () => HomeInfo, defaultLang: Language) {
  const app = new Hono();
  app.get('/', (c) => {
    const q = c.req.query('lang');
    const lang: Language = q === 'fr' || q === 'en' ? q : (c.req.header('accept-language')?.startsWith('fr') ? 'fr' : defaultLang);
    const w = WORDS[lang];
    const i = info();
    return c.html(html`<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>Relais</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1d2433}h1{font-size:1.6rem}code{background:#eef1f6;padding:.1rem .3rem;border-radius:4px}li{margin:.4rem 0}.warn{color:#8a4b00}dt{font-weight:600}</style></head>
<body><h1>${w.title} <small>v${i.version}</small></h1>
<h2>${w.next}</h2>
${i.missing.length ? html`<ol>${i.missing.map((m) => html`<li>${m}</li>`)}</ol>` : html`<p>${w.none}</p>`}
${i.simulatorUrl ? html`<p><strong>${w.sim}:</strong> <a href="${i.simulatorUrl}">${i.simulatorUrl}</a><br>${w.simHint}</p>` : ''}
<dl><dt>${w.db}</dt><dd>${i.database}</dd><dt>${w.key}</dt><dd>${i.keySource}</dd><dt>${w.chat}</dt><dd>${i.chat}</dd>
${i.webhookUrl ? html`<dt>${w.webhook}</dt><dd><code>${i.webhookUrl}</code></dd>` : ''}</dl>
${i.warnings.length ? html`<h2 class="warn">${w.warn}</h2><ul>${i.warnings.map((m) => html`<li class="warn">${m}</li>`)}</ul>` : ''}
<p>${raw(w.docs.replace('docs/configuration.md', '<code>docs/configuration.md</code>'))}</p></body></html>`);
  });
  return app;
}
