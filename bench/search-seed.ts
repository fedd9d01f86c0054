/**
 * Seeds the search benchmark's archive on PostgreSQL the way the product stores it: customers
 * with their own wrapped data key, messages and agent replies sealed with it (same AAD, same JSON
 * shape), wamids as keyed hashes, and search postings computed by the product's tokenizer and
 * hashing. Rows go through COPY; the postings tables' key, foreign key and index are dropped
 * during the load and rebuilt after it with the migration's definitions.
 */
import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import type postgres from 'postgres';
import { blindIndex } from '../src/archive/blind-index.js';
import { sealField, sealJson } from '../src/archive/envelope.js';
import type { KeyRing } from '../src/archive/keyring.js';
import { hashTokens } from '../src/compliance/search-index.js';
import { tokenize } from '../src/compliance/tokenizer.js';
import { generateMessage, prng } from './search-corpus.js';

export interface SeedOptions { messages: number; customers: number; outboundShare: number; phoneNumberIds: string[] }
export interface SeededSample { customerId: string; ranks: number[]; order?: string; text: string }
export interface SeedReport {
  inbound: number; outbound: number; postings: number; customers: number;
  loadSeconds: number; indexSeconds: number; analyzeSeconds: number;
  /** A sample of generated messages (every 500th), to build queries with known matches. */
  samples: SeededSample[];
  customerIds: string[];
}

const hex = (b: Uint8Array) => `\\\\x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')}`;
const chatId = () => randomUUID().replace(/-/g, '').slice(0, 26);

async function write(stream: Writable, chunk: string): Promise<void> {
  if (!stream.write(chunk)) await new Promise((r) => stream.once('drain', r));
}
async function finish(stream: Writable): Promise<void> {
  await new Promise<void>((resolve, reject) => { stream.once('finish', resolve); stream.once('error', reject); stream.end(); });
}

/** Seeds an empty, migrated database. `pg` is a postgres.js client on it (at least 4 connections). */
export async function seedArchive(pg: postgres.Sql, ring: KeyRing, o: SeedOptions, progress: (line: string) => void): Promise<SeedReport> {
  const rand = prng(20260501);
  const t0 = performance.now();
  // Customers: activity follows a power law (a few very active, most with a handful of messages).
  const customers = Array.from({ length: o.customers }, (_, i) => ({ id: randomUUID(), dek: ring.newDataKey(), weight: 1 / Math.pow(i + 1, 0.8), channel: chatId(), number: o.phoneNumberIds[i % o.phoneNumberIds.length]! }));
  const cdf: number[] = [];
  customers.reduce((sum, c) => { cdf.push(sum + c.weight); return sum + c.weight; }, 0);
  const totalWeight = cdf[cdf.length - 1]!;
  const pickCustomer = () => { const x = rand() * totalWeight; let lo = 0, hi = cdf.length - 1; while (lo < hi) { const m = (lo + hi) >> 1; if (cdf[m]! < x) lo = m + 1; else hi = m; } return customers[lo]!; };

  await pg.unsafe(`alter table message_tokens drop constraint message_tokens_pk, drop constraint message_tokens_message_id_messages_id_fk;
    drop index message_tokens_message_idx;
    alter table outbox_tokens drop constraint outbox_tokens_pk, drop constraint outbox_tokens_outbox_id_outbox_id_fk;
    drop index outbox_tokens_outbox_idx;`);

  const cust = await pg`copy customers (id, phone_number_id, customer_bidx, phone_bidx, wa_id_enc, profile_name_enc, key_version, channel_key, chat_channel_id) from stdin`.writable();
  const keys = await pg`copy customer_keys (customer_id, version, wrapped, kek_version) from stdin`.writable();
  for (const [i, c] of customers.entries()) {
    const waId = `336${String(10_000_000 + i).padStart(8, '0')}`;
    const ctx = { table: 'customers', rowId: c.id, keyVersion: 1 };
    const { wrapped, kekVersion } = ring.wrapDataKey(c.dek, { customerId: c.id, dekVersion: 1 });
    await write(cust, `${c.id}\t${c.number}\t${blindIndex(ring, 'customer', waId)}\t${blindIndex(ring, 'phone', waId)}\t${hex(sealField(c.dek, { ...ctx, column: 'wa_id_enc' }, waId))}\t${hex(sealField(c.dek, { ...ctx, column: 'profile_name_enc' }, `Client ${i}`))}\t1\t${blindIndex(ring, 'channel', `${c.number}:${waId}`).slice(0, 26)}\t${c.channel}\n`);
    await write(keys, `${c.id}\t1\t${hex(wrapped)}\t${kekVersion}\n`);
  }
  await finish(cust);
  await finish(keys);

  const msgs = await pg`copy messages (id, customer_id, direction, wamid_bidx, wamid_enc, type, content_enc, key_version, wa_timestamp, received_at, relay_state, chat_post_id, posted_at) from stdin`.writable();
  const outs = await pg`copy outbox (id, customer_id, source_key, chat_post_id, chat_channel_id, kind, content_enc, key_version, state, wamid_bidx, wamid_enc, created_at, sent_at) from stdin`.writable();
  const mtok = await pg`copy message_tokens (token, received_at, message_id, customer_id) from stdin`.writable();
  const otok = await pg`copy outbox_tokens (token, created_at, outbox_id, customer_id) from stdin`.writable();
  const end = Date.now();
  const span = 2 * 365 * 86_400_000; // two years of history
  const report: SeedReport = { inbound: 0, outbound: 0, postings: 0, customers: o.customers, loadSeconds: 0, indexSeconds: 0, analyzeSeconds: 0, samples: [], customerIds: customers.map((c) => c.id) };
  let buf = { m: '', o: '', mt: '', ot: '' };
  const flush = async () => {
    await Promise.all([write(msgs, buf.m), write(outs, buf.o), write(mtok, buf.mt), write(otok, buf.ot)]);
    buf = { m: '', o: '', mt: '', ot: '' };
  };
  for (let i = 0; i < o.messages; i++) {
    const g = generateMessage(i, o.messages, rand);
    const c = pickCustomer();
    const at = new Date(end - span + Math.floor((i / o.messages) * span) + Math.floor(rand() * 1000)).toISOString();
    const id = randomUUID();
    const wamid = `wamid.bench.${id}`;
    const tokens = hashTokens(ring, tokenize(g.text));
    report.postings += tokens.length;
    if (i % 500 === 0) report.samples.push({ customerId: c.id, ranks: g.ranks, order: g.order, text: g.text });
    if (rand() >= o.outboundShare) {
      report.inbound++;
      const ctx = { table: 'messages', rowId: id, keyVersion: 1 };
      const stored = { content: { kind: 'text', text: g.text }, markers: {}, customerName: 'Client' };
      buf.m += `${id}\t${c.id}\tinbound\t${blindIndex(ring, 'wamid', wamid)}\t${hex(sealField(c.dek, { ...ctx, column: 'wamid_enc' }, wamid))}\ttext\t${hex(sealJson(c.dek, { ...ctx, column: 'content_enc' }, stored))}\t1\t${at}\t${at}\tposted\t${chatId()}\t${at}\n`;
      for (const t of tokens) buf.mt += `${t}\t${at}\t${id}\t${c.id}\n`;
    } else {
      report.outbound++;
      const ctx = { table: 'outbox', rowId: id, keyVersion: 1 };
      const post = chatId();
      buf.o += `${id}\t${c.id}\tpost:${post}\t${post}\t${c.channel}\ttext\t${hex(sealJson(c.dek, { ...ctx, column: 'content_enc' }, { kind: 'text', text: g.text }))}\t1\tsent\t${blindIndex(ring, 'wamid', wamid)}\t${hex(sealField(c.dek, { ...ctx, column: 'wamid_enc' }, wamid))}\t${at}\t${at}\n`;
      for (const t of tokens) buf.ot += `${t}\t${at}\t${id}\t${c.id}\n`;
    }
    if (i % 2000 === 1999) await flush();
    if (i % 100_000 === 99_999) progress(`  ${i + 1} messages generated, sealed and copied (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  await flush();
  await Promise.all([finish(msgs), finish(outs), finish(mtok), finish(otok)]);
  report.loadSeconds = (performance.now() - t0) / 1000;

  const t1 = performance.now();
  // The migration's definitions (0002 + 0004), rebuilt in parallel.
  await Promise.all([
    pg.unsafe('alter table message_tokens add constraint message_tokens_pk primary key (token, received_at, message_id)'),
    pg.unsafe('alter table outbox_tokens add constraint outbox_tokens_pk primary key (token, created_at, outbox_id)'),
  ]);
  await Promise.all([
    pg.unsafe('create index message_tokens_message_idx on message_tokens using btree (message_id)'),
    pg.unsafe('create index outbox_tokens_outbox_idx on outbox_tokens using btree (outbox_id)'),
  ]);
  await Promise.all([
    pg.unsafe('alter table message_tokens add constraint message_tokens_message_id_messages_id_fk foreign key (message_id) references public.messages(id) on delete cascade on update no action'),
    pg.unsafe('alter table outbox_tokens add constraint outbox_tokens_outbox_id_outbox_id_fk foreign key (outbox_id) references public.outbox(id) on delete cascade on update no action'),
  ]);
  report.indexSeconds = (performance.now() - t1) / 1000;
  const t2 = performance.now();
  // What autovacuum does on a live system: statistics, and the visibility map index-only scans need.
  await pg.unsafe('vacuum analyze');
  // Flush the load's dirty pages now, so the measurements do not share the disk with a checkpoint.
  await pg.unsafe('checkpoint');
  report.analyzeSeconds = (performance.now() - t2) / 1000;
  return report;
}
