/**
 * The bare baseline the inbound benchmark compares Relais with, run as its own process like
 * Relais is: Hono + HMAC-SHA256 check + one INSERT per request, on PGlite or PostgreSQL.
 * Usage: tsx bench/baseline-server.ts <port> [postgres-url]
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { serve } from '@hono/node-server';
import { PGlite } from '@electric-sql/pglite';
import { Hono } from 'hono';
import postgres from 'postgres';

const [port, pgUrl] = process.argv.slice(2);
const SECRET = 'bench-app-secret';
let insert: (id: string, body: Buffer) => Promise<void>;
if (pgUrl) {
  const db = postgres(pgUrl, { max: 10, onnotice: () => {} });
  await db`create table if not exists inbox (id text primary key, body bytea not null, at timestamptz default now())`;
  insert = async (id, body) => { await db`insert into inbox (id, body) values (${id}, ${body}) on conflict do nothing`; };
} else {
  const db = await PGlite.create('memory://');
  await db.exec('create table inbox (id text primary key, body bytea not null, at timestamptz default now())');
  insert = async (id, body) => { await db.query('insert into inbox (id, body) values ($1, $2) on conflict do nothing', [id, body]); };
}
const app = new Hono();
app.get('/readyz/webhooks', (c) => c.json({ ok: true }));
app.post('/webhooks/whatsapp', async (c) => {
  const raw = Buffer.from(await c.req.arrayBuffer());
  const given = Buffer.from(c.req.header('x-hub-signature-256') ?? '');
  const want = Buffer.from('sha256=' + createHmac('sha256', SECRET).update(raw).digest('hex'));
  if (given.length !== want.length || !timingSafeEqual(given, want)) return c.text('no', 401);
  await insert(randomUUID(), raw);
  return c.json({ ok: true });
});
serve({ fetch: app.fetch, port: Number(port), hostname: '127.0.0.1' });
