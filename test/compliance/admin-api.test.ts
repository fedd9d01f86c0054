import { randomBytes } from 'node:crypto';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken, revokeApiToken, type ApiScope } from '../../src/compliance/api-tokens.js';
import { listAudit } from '../../src/compliance/audit.js';
import { complianceServices } from '../../src/http/routes/admin-api/compliance-services.js';
import { buildMessageWebhook } from '../../src/simulator/webhook-builder.js';
import { FIXTURE_NUMBERS, startTestRelais, type TestRelais } from '../helpers/relais.js';

const PHONE = { phone: '+33 6 00 00 00 01' };
const wired = (s: keyof typeof complianceServices) => Boolean(complianceServices[s]);

/** Every route of the admin API with the scope it needs and what an authorised call answers here. */
const ENDPOINTS: { method: string; path: string; doc: string; scope: ApiScope; body?: object; service?: keyof typeof complianceServices }[] = [
  { method: 'GET', path: '/conversations', doc: '/conversations', scope: 'read' },
  { method: 'GET', path: '/search?q=hello', doc: '/search', scope: 'read', service: 'searchMessages' },
  { method: 'POST', path: '/search', doc: '/search', scope: 'read', body: { q: 'hello' }, service: 'searchMessages' },
  { method: 'POST', path: '/exports', doc: '/exports', scope: 'gdpr', body: PHONE, service: 'exportCustomer' },
  { method: 'POST', path: '/erasures', doc: '/erasures', scope: 'gdpr', body: PHONE, service: 'eraseCustomer' },
  { method: 'PUT', path: '/holds', doc: '/holds', scope: 'gdpr', body: PHONE, service: 'setLegalHold' },
  { method: 'DELETE', path: '/holds', doc: '/holds', scope: 'gdpr', body: PHONE, service: 'setLegalHold' },
  { method: 'GET', path: '/dead-letters?queue=relay', doc: '/dead-letters', scope: 'admin' },
  { method: 'POST', path: '/dead-letters/00000000-0000-4000-8000-000000000000/redrive', doc: '/dead-letters/{id}/redrive', scope: 'admin' },
  { method: 'GET', path: '/audit', doc: '/audit', scope: 'admin' },
  { method: 'GET', path: '/audit/verify', doc: '/audit/verify', scope: 'admin' },
];

let r: TestRelais;
const tokens = {} as Record<ApiScope | 'readGdpr' | 'revoked' | 'expired', string>;

async function call(method: string, path: string, opts: { token?: string | null; body?: object | string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await r.runtime.app.request(`/api/v1${path}`, { method, headers, body: typeof opts.body === 'string' ? opts.body : opts.body && JSON.stringify(opts.body) });
  const text = await res.text();
  let json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, json, text };
}

async function inbound(waId: string, body: string) {
  const { payload } = buildMessageWebhook({ wabaId: '1000001', phoneNumberId: FIXTURE_NUMBERS[0]!, displayPhoneNumber: '+1 555 010 0001' }, { waId, name: 'Test Customer' }, { type: 'text', body });
  expect((await r.postWebhook(JSON.stringify(payload))).status).toBe(200);
}

beforeAll(async () => {
  r = await startTestRelais({ workers: false });
  const db = r.runtime.database.db;
  const ring = r.runtime.ring;
  for (const scope of ['read', 'gdpr', 'admin'] as const) tokens[scope] = (await createApiToken(db, ring, { name: `t-${scope}`, scopes: [scope], actor: 'cli:test' })).token;
  tokens.readGdpr = (await createApiToken(db, ring, { name: 'dpo', scopes: ['read', 'gdpr'], actor: 'cli:test' })).token;
  const revoked = await createApiToken(db, ring, { name: 'old', scopes: ['read', 'gdpr', 'admin'], actor: 'cli:test' });
  await revokeApiToken(db, ring, revoked.info.id, { actor: 'cli:test' });
  tokens.revoked = revoked.token;
  tokens.expired = (await createApiToken(db, ring, { name: 'expired', scopes: ['read', 'gdpr', 'admin'], expiresInDays: 1, actor: 'cli:test', now: new Date(Date.now() - 2 * 86_400_000) })).token;
});
afterAll(async () => { await r?.stop(); });

describe('admin API: authentication and scopes', () => {
  it('refuses a missing, malformed, unknown, revoked or expired token with 401 on every route', async () => {
    const bad: [string, Record<string, string>][] = [
      ['missing', {}],
      ['malformed', { authorization: 'Bearer not-a-token' }],
      ['malformed', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
      ['unknown', { authorization: `Bearer rls_${randomBytes(32).toString('base64url')}` }],
      ['revoked', { authorization: `Bearer ${tokens.revoked}` }],
      ['expired', { authorization: `Bearer ${tokens.expired}` }],
    ];
    for (const e of ENDPOINTS) {
      for (const [reason, headers] of bad) {
        const res = await call(e.method, e.path, { headers, body: e.body });
        expect(res.status, `${e.method} ${e.path} ${reason}`).toBe(401);
        expect(res.json.error.code).toBe('unauthorized');
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(res.headers.get('cache-control')).toBe('no-store');
      }
    }
    const failures = (await listAudit(r.runtime.database.db, { limit: 1000 })).filter((a) => a.action === 'api.auth_failed');
    expect(new Set(failures.map((f) => f.details.reason))).toEqual(new Set(['missing', 'malformed', 'unknown', 'revoked', 'expired']));
    expect(failures).toHaveLength(ENDPOINTS.length * bad.length);
    expect(failures.every((f) => f.details.address === 'unknown' && typeof f.details.route === 'string')).toBe(true);
    expect(failures.filter((f) => f.details.reason === 'revoked').every((f) => /^[0-9a-f-]{36}$/.test(f.target!))).toBe(true);
  });

  it('gives each scope exactly its routes: 403 elsewhere, the service answer (or 501 when not wired) on its own', async () => {
    for (const e of ENDPOINTS) {
      for (const scope of ['read', 'gdpr', 'admin'] as const) {
        const res = await call(e.method, e.path, { token: tokens[scope], body: e.body });
        const what = `${e.method} ${e.path} with ${scope}`;
        expect(res.headers.get('cache-control'), what).toBe('no-store');
        if (scope !== e.scope) {
          expect(res.status, what).toBe(403);
          expect(res.json.error).toMatchObject({ code: 'forbidden', message: expect.stringContaining(`"${e.scope}"`) });
        } else if (e.service && !wired(e.service)) {
          expect(res.status, what).toBe(501);
          expect(res.json.error.code).toBe('not_implemented');
        } else {
          expect([200, 404], what).toContain(res.status);
          if (res.status === 404) expect(res.json.error.code).toBe('not_found');
        }
      }
    }
    const audit = await listAudit(r.runtime.database.db, { limit: 1000 });
    expect(audit.filter((a) => a.action === 'api.auth_failed' && a.details.reason === 'missing_scope')).toHaveLength(ENDPOINTS.length * 2);
    // One login per token however many requests it made.
    const logins = audit.filter((a) => a.action === 'api.login');
    expect(logins.map((l) => l.actor).sort()).toEqual(['api:t-admin', 'api:t-gdpr', 'api:t-read']);
    // No token text anywhere in the database (audit log, rate-limit counters, tokens table…).
    const dump = await r.dumpAll();
    for (const t of Object.values(tokens)) expect(dump).not.toContain(t.slice(4));
  });
});

describe('admin API: errors', () => {
  it('answers JSON errors with stable codes, never echoing input values', async () => {
    const bad = await call('GET', '/conversations?limit=0&cursor=x', { token: tokens.read });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ code: 'invalid_request', issues: [expect.objectContaining({ path: ['limit'] })] });
    const badCursor = await call('GET', '/conversations?cursor=bm9wZQ', { token: tokens.read });
    expect(badCursor.status).toBe(400);
    expect(badCursor.json.error.code).toBe('invalid_request');
    const notJson = await call('POST', '/exports', { token: tokens.gdpr, body: '{"phone":' });
    expect(notJson.status).toBe(400);
    expect(notJson.json.error.code).toBe('invalid_request');
    const extra = await call('POST', '/exports', { token: tokens.gdpr, body: { phone: '+33600000001', note: 'secret-note-value' } });
    expect(extra.status).toBe(400);
    expect(extra.text).not.toContain('secret-note-value');
    expect(extra.text).not.toContain('33600000001');
    const huge = await call('POST', '/search', { token: tokens.read, body: { q: 'x'.repeat(70_000) } });
    expect(huge.status).toBe(413);
    expect(huge.json.error.code).toBe('payload_too_large');
    const nowhere = await call('GET', '/nothing-here', { token: tokens.read });
    expect(nowhere.status).toBe(404);
    expect(nowhere.json.error.code).toBe('not_found');
    expect(nowhere.headers.get('cache-control')).toBe('no-store');
    const redrive = await call('POST', '/dead-letters/not-a-uuid/redrive', { token: tokens.admin });
    expect(redrive.status).toBe(400);
  });

  it('counts requests by route template and status', async () => {
    const text = await r.runtime.metrics.registry.metrics();
    expect(text).toMatch(/relais_admin_api_requests_total\{route="GET \/api\/v1\/conversations",status="200"\} [1-9]/);
    expect(text).toMatch(/relais_admin_api_requests_total\{route="POST \/api\/v1\/dead-letters\/:id\/redrive",status="401"\} [1-9]/);
    expect(text).toMatch(/relais_admin_api_requests_total\{route="unmatched",status="404"\} [1-9]/);
  });
});

describe('admin API: OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document, served without a token, listing every route with its scope', async () => {
    const res = await call('GET', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.json;
    const v = await new Validator().validate(doc);
    expect(v.errors ?? [], JSON.stringify(v.errors)).toEqual([]);
    expect(v.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    const documented = Object.entries(doc.paths as Record<string, Record<string, { 'x-relais-scope'?: string; security?: unknown }>>)
      .flatMap(([p, ops]) => Object.entries(ops).map(([m, op]) => `${m.toUpperCase()} ${p} ${op['x-relais-scope']}`)).sort();
    expect(documented).toEqual(ENDPOINTS.map((e) => `${e.method} ${e.doc} ${e.scope}`).sort());
    expect(doc.components.schemas.Error).toBeDefined();
  });
});

describe('admin API: conversations', () => {
  it('lists customers with masked numbers (full ones for gdpr tokens, audited), counts and pages', async () => {
    await inbound('33612345678', 'bonjour');
    await inbound('33612345678', 'encore');
    await inbound('4915112345678', 'hallo');
    await inbound('447700900123', 'hello');
    const first = await call('GET', '/conversations?limit=2', { token: tokens.read });
    expect(first.status).toBe(200);
    expect(first.json.conversations).toHaveLength(2);
    expect(first.json.nextCursor).toEqual(expect.any(String));
    const second = await call('GET', `/conversations?limit=2&cursor=${first.json.nextCursor}`, { token: tokens.read });
    expect(second.json.conversations).toHaveLength(1);
    expect(second.json.nextCursor).toBeNull();
    const all = [...first.json.conversations, ...second.json.conversations];
    expect(new Set(all.map((x: { customerId: string }) => x.customerId)).size).toBe(3);
    const fr = all.find((x: { maskedNumber: string }) => x.maskedNumber?.startsWith('+33'));
    expect(fr).toMatchObject({ maskedNumber: '+33•••••••78', phoneNumberId: FIXTURE_NUMBERS[0], inboundMessages: 2, outboundMessages: 0, legalHold: false, retired: false });
    expect(fr).not.toHaveProperty('number');
    expect(first.text + second.text).not.toContain('612345678');
    const before = (await listAudit(r.runtime.database.db, { limit: 1000 })).filter((a) => a.action === 'conversations.list').length;
    const full = await call('GET', '/conversations', { token: tokens.readGdpr });
    expect(full.json.conversations.map((x: { number: string }) => x.number).sort()).toEqual(['+33612345678', '+447700900123', '+4915112345678']);
    const listed = (await listAudit(r.runtime.database.db, { limit: 1000 })).filter((a) => a.action === 'conversations.list');
    expect(listed).toHaveLength(before + 1);
    expect(listed[0]).toMatchObject({ actor: 'api:dpo', details: { count: 3 } });
    expect(JSON.stringify(listed[0])).not.toContain('612345678');
    const other = await call('GET', '/conversations?phoneNumberId=999999', { token: tokens.read });
    expect(other.json).toEqual({ conversations: [], nextCursor: null });
  });
});

describe.skipIf(!wired('searchMessages'))('admin API: search', () => {
  it('finds messages by words (GET or POST), filters by number in the body, and the service audits it', async () => {
    await inbound('33699887766', 'Ma commande numéro 4521 est arrivée abîmée');
    const byGet = await call('GET', '/search?q=commande%20abimee', { token: tokens.read });
    expect(byGet.status).toBe(200);
    expect(byGet.json.results).toEqual([expect.objectContaining({ direction: 'inbound', text: expect.stringContaining('abîmée'), at: expect.any(String) })]);
    const byPost = await call('POST', '/search', { token: tokens.read, body: { q: 'commande', phone: '+33 6 99 88 77 66', limit: 5 } });
    expect(byPost.json.results).toHaveLength(1);
    const elsewhere = await call('POST', '/search', { token: tokens.read, body: { q: 'commande', phone: '+33 6 12 34 56 78' } });
    expect(elsewhere.json.results).toEqual([]);
    const searches = (await listAudit(r.runtime.database.db, { limit: 1000 })).filter((a) => a.action === 'search' && a.actor === 'api:t-read');
    expect(searches.length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(searches)).not.toMatch(/commande|33699887766/);
    const empty = await call('GET', '/search?q=%21', { token: tokens.read });
    expect(empty.status).toBe(400);
    expect(empty.json.error.code).toBe('invalid_request');
  });
});

describe.skipIf(!wired('exportCustomer') || !wired('eraseCustomer') || !wired('setLegalHold'))('admin API: data-subject requests', () => {
  it('holds, refuses erasure while held, exports a ZIP, erases, then finds nothing', async () => {
    const person = { phone: '+33 6 55 54 44 33' };
    await inbound('33655544433', 'mon adresse est 12 rue des Lilas');
    const held = await call('PUT', '/holds', { token: tokens.gdpr, body: { ...person, reason: 'case 2026-114' } });
    expect(held.status).toBe(200);
    expect(held.json).toEqual({ customers: 1 });
    const listed = await call('GET', '/conversations', { token: tokens.read });
    expect(listed.json.conversations.find((x: { maskedNumber: string }) => x.maskedNumber === '+33•••••••33')).toMatchObject({ legalHold: true });
    const refused = await call('POST', '/erasures', { token: tokens.gdpr, body: person });
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe('legal_hold');
    expect((await call('DELETE', '/holds', { token: tokens.gdpr, body: person })).json).toEqual({ customers: 1 });

    const res = await r.runtime.app.request('/api/v1/exports', { method: 'POST', headers: { authorization: `Bearer ${tokens.gdpr}`, 'content-type': 'application/json' }, body: JSON.stringify(person) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="relais-export-\d{4}-\d\d-\d\d\.zip"$/);
    expect(res.headers.get('content-disposition')).not.toContain('3365554');
    expect(res.headers.get('x-relais-messages')).toBe('1');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(Buffer.from(await res.arrayBuffer()).subarray(0, 2).toString()).toBe('PK');

    const erased = await call('POST', '/erasures', { token: tokens.gdpr, body: person });
    expect(erased.status).toBe(200);
    expect(erased.json).toMatchObject({ customers: 1, messagesDeleted: 1 });
    expect((await call('POST', '/exports', { token: tokens.gdpr, body: person })).status).toBe(404);
    const actions = (await listAudit(r.runtime.database.db, { limit: 1000 })).filter((a) => a.actor === 'api:t-gdpr').map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['hold.on', 'hold.off', 'export', 'erase']));
  });
});
