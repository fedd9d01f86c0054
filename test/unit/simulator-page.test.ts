import { describe, expect, it, vi } from 'vitest';
import { PAGE_STRINGS, createSimulator, pickLanguage, renderPage } from '../fakes/graph-api.js';

const sim = createSimulator({
  graphBase: 'http://127.0.0.1:8080/simulator/graph/v23.0',
  webhookUrl: 'http://127.0.0.1:8080/webhooks/whatsapp',
  appSecret: 'secret', accessToken: 'token', phoneNumberId: '100000000000001', displayPhoneNumber: '+1 555 010 0001',
});

describe('simulator page language', () => {
  const cases: [string | undefined, string | undefined, 'en' | 'fr'][] = [
    [undefined, undefined, 'en'],
    ['fr', undefined, 'fr'],
    ['en', 'fr-FR,fr;q=0.9', 'en'],
    ['FR-ca', 'en', 'fr'],
    ['de', 'fr-CH, fr;q=0.9, en;q=0.8', 'fr'],
    [undefined, 'de-DE,de;q=0.9,en;q=0.5,fr;q=0.7', 'fr'],
    [undefined, 'en-GB,en;q=0.9,fr;q=0.8', 'en'],
    [undefined, 'fr;q=0, en;q=0.1', 'en'],
    [undefined, 'es', 'en'],
  ];
  for (const [query, header, expected] of cases) {
    it(`?lang=${query ?? '∅'} + Accept-Language "${header ?? '∅'}" → ${expected}`, () => {
      expect(pickLanguage(query, header)).toBe(expected);
    });
  }

  it('has every string in both languages', () => {
    expect(Object.keys(PAGE_STRINGS.fr).sort()).toEqual(Object.keys(PAGE_STRINGS.en).sort());
  });
});

describe('simulator page rendering', () => {
  const get = (path: string, headers: Record<string, string> = {}): Promise<Response> => Promise.resolve(sim.app.request(path, { headers }));

  it('renders in English by default', async () => {
    const res = await get('/');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<html lang="en">');
    for (const s of ['WhatsApp simulator', 'Play the customer', 'Attach a file', 'Send a location', 'Your WhatsApp number']) expect(html).toContain(s);
  });

  it('renders in French with ?lang=fr and with Accept-Language: fr', async () => {
    for (const res of [await get('/?lang=fr'), await get('/', { 'accept-language': 'fr-FR,fr;q=0.9,en;q=0.8' })]) {
      const html = await res.text();
      expect(html).toContain('<html lang="fr">');
      for (const s of ['Simulateur WhatsApp', 'Jouez le client', 'Joindre un fichier', 'Envoyer une position', 'Votre numéro WhatsApp', 'Écrivez un message']) {
        expect(html).toContain(s);
      }
      expect(html).not.toContain('Play the customer');
      // The strings the script shows later travel in the page too.
      expect(html).toContain('"markDelivered":"Distribué"');
    }
  });

  it('loads nothing from outside and runs only its own nonce-tagged script', async () => {
    const res = await get('/');
    const html = await res.text();
    const csp = res.headers.get('content-security-policy') ?? '';
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain("default-src 'none'");
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toContain('<link');
    const scripts = [...html.matchAll(/<script nonce="([^"]+)">([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    expect(scripts[0]![1]).toBe(nonce);
    // It parses as JavaScript (compiled, not run).
    expect(() => new Function(scripts[0]![2]!)).not.toThrow();
    // It calls the API relative to where the simulator is mounted.
    expect(scripts[0]![2]).toContain("base + 'api/'");
  });

  it('escapes the strings it embeds', () => {
    const html = renderPage('en', '"><x');
    expect(html).not.toContain('"><x');
    expect(html).toContain('nonce="&#34;&#62;&#60;x"');
  });
});

// No browser here: run the page script against a minimal stub DOM, fed with a real /api/state,
// to catch runtime errors in every rendering path (text, media, interactive, template, reaction).
class StubElement {
  children: StubElement[] = [];
  listeners: Record<string, (ev: unknown) => unknown> = {};
  className = '';
  hidden = false;
  value = '';
  checked = false;
  files: unknown[] = [];
  src = '';
  href = '';
  title = '';
  private text = '';
  constructor(readonly tag: string) {}
  get textContent(): string { return this.text + this.children.map((c) => c.textContent).join(' '); }
  set textContent(v: string) { this.text = v; this.children = []; }
  get childNodes(): StubElement[] { return this.children; }
  append(...nodes: StubElement[]): void { this.children.push(...nodes); }
  addEventListener(type: string, fn: (ev: unknown) => unknown): void { this.listeners[type] = fn; }
  all(): StubElement[] { return [this, ...this.children.flatMap((c) => c.all())]; }
}

describe('simulator page script (stub DOM)', () => {
  it('renders a conversation with every kind of message and sends button replies', async () => {
    const hooks: unknown[] = [];
    const s = createSimulator({
      graphBase: 'http://127.0.0.1:1/graph/v23.0', webhookUrl: 'http://relais.invalid/webhooks/whatsapp',
      appSecret: 'a', accessToken: 'tok', phoneNumberId: '100000000000001', displayPhoneNumber: '15550100001',
      fetchImpl: (async (_u: unknown, init?: RequestInit) => { hooks.push(init?.body); return new Response('ok'); }) as typeof fetch,
    });
    const business = (body: unknown): Promise<Response> => Promise.resolve(s.app.request('/graph/v23.0/100000000000001/messages', {
      method: 'POST', headers: { authorization: 'Bearer tok', 'content-type': 'application/json' }, body: JSON.stringify({ messaging_product: 'whatsapp', to: '33612345678', ...(body as object) }),
    }));
    const customer = { waId: '33612345678', name: 'Camille' };
    const { wamid } = await s.sendCustomerMessage(customer, { type: 'text', body: 'Bonjour' });
    await s.sendCustomerMessage(customer, { type: 'file', bytes: new Uint8Array([1]), mimeType: 'image/png' });
    await s.sendCustomerMessage(customer, { type: 'location', latitude: 1, longitude: 2, name: 'Ici' });
    await business({ type: 'text', text: { body: 'Bonjour Camille' }, context: { message_id: wamid } });
    await business({ type: 'interactive', interactive: { type: 'button', body: { text: 'Choisissez' }, action: { buttons: [{ type: 'reply', reply: { id: 'y', title: 'Oui' } }] } } });
    await business({ type: 'interactive', interactive: { type: 'list', body: { text: 'Liste' }, action: { button: 'Voir', sections: [{ rows: [{ id: 'r', title: 'Ligne' }] }] } } });
    await business({ type: 'template', template: { name: 'relais_follow_up', language: { code: 'fr' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Camille' }, { type: 'text', text: '#7' }] }] } });
    await business({ type: 'reaction', reaction: { message_id: wamid, emoji: '👍' } });
    await business({ type: 'document', document: { link: 'https://example.com/f.pdf', filename: 'f.pdf' } });
    const state = await (await s.app.request('/api/state')).text();

    const html = renderPage('fr', 'n');
    const script = /<script nonce="n">([\s\S]*?)<\/script>/.exec(html)![1]!;
    const i18n = /<script type="application\/json" id="i18n">([\s\S]*?)<\/script>/.exec(html)![1]!;
    const elements = new Map<string, StubElement>();
    const byId = (id: string): StubElement => {
      if (!elements.has(id)) elements.set(id, new StubElement('div'));
      return elements.get(id)!;
    };
    byId('i18n').textContent = i18n;
    const posted: { url: string; body: unknown }[] = [];
    const stubFetch = async (url: string, init?: RequestInit): Promise<Response> => {
      if (init?.method === 'POST') {
        posted.push({ url, body: JSON.parse(String(init.body)) });
        return new Response('{}');
      }
      return new Response(state);
    };
    const doc = { getElementById: byId, createElement: (tag: string) => new StubElement(tag), body: { scrollHeight: 0 } };
    const storage = { getItem: () => null, setItem: () => undefined };
    new Function('document', 'localStorage', 'fetch', 'location', 'setInterval', 'window', script)(
      doc, storage, stubFetch, { pathname: '/simulator' }, () => 0, { scrollTo: () => undefined },
    );
    await vi.waitFor(() => expect(byId('chat').children.length).toBe(9));
    expect(byId('error').textContent).toBe('');
    const chat = byId('chat').textContent;
    for (const s of ['Bonjour Camille', 'Choisissez', 'Ligne', 'Bonjour Camille, nous avons du nouveau concernant votre demande #7', 'Ici', 'https://example.com/f.pdf', 'Distribué', 'reçu par Relais']) {
      expect(chat).toContain(s);
    }
    const oui = byId('chat').all().find((e) => e.tag === 'button' && e.textContent === 'Oui')!;
    await oui.listeners.click!({});
    expect(posted.at(-1)).toEqual({ url: '/simulator/api/messages', body: { customer: { waId: '33612345678', name: 'Camille Durand' }, content: { type: 'button_reply', id: 'y', title: 'Oui' }, replyTo: expect.stringMatching(/^wamid\./) } });
    const continuer = byId('chat').all().find((e) => e.tag === 'button' && e.textContent === 'Continuer');
    expect(continuer).toBeDefined();
    s.dispose();
  });
});
