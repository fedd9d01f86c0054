import { describe, expect, it } from 'vitest';
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
