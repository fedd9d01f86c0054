import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseWebhook, type ParseWebhookResult } from '../../src/whatsapp/from-whatsapp.js';

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/whatsapp/', import.meta.url));
const enc = (s: string) => new TextEncoder().encode(s);

/** Fixture payloads, or a small built-in one when shared/ is absent (so the fuzz still runs). */
const SEEDS: unknown[] = existsSync(FIXTURES)
  ? readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(readFileSync(FIXTURES + f, 'utf8')) as unknown)
  : [{
      object: 'whatsapp_business_account',
      entry: [{ id: '1', changes: [{ field: 'messages', value: {
        metadata: { phone_number_id: '123' }, contacts: [{ wa_id: '111111', profile: { name: 'A' } }],
        messages: [{ from: '111111', id: 'wamid.X', timestamp: '1', type: 'text', text: { body: 'hi' } }],
        statuses: [{ id: 'wamid.Y', status: 'read', timestamp: '2', recipient_id: '111111' }],
      } }] }],
    }];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = (string | number)[];

function paths(v: Json, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

function getAt(v: Json, p: Path): Json {
  return p.reduce<Json>((node, k) => (node as Record<string | number, Json>)[k]!, v);
}

type Mutation =
  | { kind: 'replace'; value: Json }
  | { kind: 'delete' }
  | { kind: 'addKey'; key: string; value: Json }
  | { kind: 'duplicate' }
  | { kind: 'proto'; value: Json };

function mutate(seed: unknown, pathIndex: number, m: Mutation): string {
  const doc = structuredClone(seed) as Json;
  const all = paths(doc);
  const p = all[pathIndex % all.length]!;
  if (p.length === 0) return m.kind === 'replace' ? JSON.stringify(m.value) : JSON.stringify(doc);
  const parent = getAt(doc, p.slice(0, -1)) as Record<string | number, Json> | Json[];
  const key = p[p.length - 1]!;
  const target = getAt(doc, p);
  switch (m.kind) {
    case 'replace':
      (parent as Record<string | number, Json>)[key] = m.value;
      break;
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete (parent as Record<string, Json>)[key];
      break;
    case 'addKey':
      if (target !== null && typeof target === 'object' && !Array.isArray(target)) target[m.key] = m.value;
      break;
    case 'duplicate':
      if (Array.isArray(target)) target.push(structuredClone(target[0] ?? null));
      break;
    case 'proto': {
      // An own "__proto__" key, as JSON.parse would create it from hostile bytes.
      const text = JSON.stringify(doc);
      return text.replace(/^\{/, `{"__proto__":${JSON.stringify(m.value)},`);
    }
  }
  return JSON.stringify(doc);
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), value: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> }),
  fc.record({ kind: fc.constant('delete' as const) }),
  fc.record({ kind: fc.constant('addKey' as const), key: fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'type', 'errors', 'context')), value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json> }),
  fc.record({ kind: fc.constant('duplicate' as const) }),
  fc.record({ kind: fc.constant('proto' as const), value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json> }),
);

const DETAIL = /^(?:body is not valid UTF-8|JSON syntax error|forbidden prototype key \(__proto__ or constructor\.prototype\)|(?:\(root\)|[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*): [a-z0-9_]+(?:; (?:\(root\)|[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*): [a-z0-9_]+)*(?: \(\+\d+ more\))?)$/;
const KINDS = new Set(['text', 'media', 'location', 'contacts', 'choice', 'reaction', 'order', 'system', 'unsupported']);

function checkResult(r: ParseWebhookResult): boolean {
  if (!r.ok) {
    expect(['malformed_json', 'invalid_shape']).toContain(r.reason);
    expect(r.detail).toMatch(DETAIL);
    return true;
  }
  for (const m of r.webhook.messages) {
    expect(KINDS.has(m.content.kind)).toBe(true);
    expect(typeof m.wamid).toBe('string');
    expect(m.customer.waId ?? m.customer.bsuid).toBeDefined();
    expect(Number.isFinite(m.timestamp)).toBe(true);
  }
  for (const s of r.webhook.statuses) expect(typeof s.status).toBe('string');
  expect(() => JSON.stringify(r.webhook)).not.toThrow();
  return true;
}

const protoKeys = Object.getOwnPropertyNames(Object.prototype).sort();
afterAll(() => {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoKeys);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

describe('parseWebhook under mutation (fast-check)', () => {
  it('never throws on structural mutations of fixture payloads', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SEEDS), fc.nat(), mutation, (seed, at, m) => {
        const r = parseWebhook(enc(mutate(seed, at, m)));
        return checkResult(r);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on byte-level damage (flips, truncation, insertion)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SEEDS),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat(),
        (seed, edits, cut) => {
          const bytes = Uint8Array.from(enc(JSON.stringify(seed)));
          for (const [pos, b] of edits) bytes[pos % bytes.length] = b;
          const variants = [bytes, bytes.subarray(0, cut % bytes.length)];
          return variants.every((v) => checkResult(parseWebhook(v)));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('refuses __proto__ payloads at any depth and leaves Object.prototype untouched', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SEEDS), fc.nat(), (seed, at) => {
        const doc = structuredClone(seed) as Json;
        const objects = paths(doc).filter((p) => {
          const v = getAt(doc, p);
          return v !== null && typeof v === 'object' && !Array.isArray(v);
        });
        const p = objects[at % objects.length]!;
        const text = JSON.stringify(doc);
        // Re-serialise with an injected own "__proto__" key in the chosen object.
        const injected = JSON.stringify(doc, function (this: unknown, _k, v: unknown) {
          if (v === getAt(doc, p)) return JSON.parse(JSON.stringify(v).replace(/^\{/, '{"__proto__":{"polluted":"yes"},')) as unknown;
          return v;
        });
        expect(injected).not.toBe(text);
        const r = parseWebhook(enc(injected));
        expect(r).toEqual({ ok: false, reason: 'malformed_json', detail: 'forbidden prototype key (__proto__ or constructor.prototype)' });
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it('handles deep nesting and huge arrays without throwing', () => {
    const deep = '{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"x","value":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}]}]}';
    expect(parseWebhook(enc(deep))).toEqual({ ok: false, reason: 'invalid_shape', detail: '(root): nesting_deeper_than_64' });
    const many = { object: 'whatsapp_business_account', entry: Array.from({ length: 5000 }, () => ({ changes: [] })) };
    expect(parseWebhook(enc(JSON.stringify(many)))).toMatchObject({ ok: false, reason: 'invalid_shape', detail: 'entry: too_big' });
  });
});
