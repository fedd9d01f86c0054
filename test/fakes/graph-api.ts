import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { createGraphFake, type GraphFake, type GraphFakeOptions } from '../../src/simulator/index.js';

/** The WhatsApp Graph API fake lives in src/simulator (it ships as `relais simulator`). */
export * from '../../src/simulator/index.js';

export interface RunningServer {
  /** http://127.0.0.1:PORT */
  origin: string;
  close(): Promise<void>;
}

/** Serves any Hono app on 127.0.0.1 and a random port. `close()` also drops open connections. */
export async function listen(app: Hono): Promise<RunningServer> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      resolve({
        origin: `http://127.0.0.1:${info.port}`,
        close: () => new Promise<void>((done) => {
          (server as Server).closeAllConnections?.();
          server.close(() => done());
        }),
      });
    });
  });
}

export interface RunningGraphFake {
  fake: GraphFake;
  /** Graph base including the version, e.g. http://127.0.0.1:PORT/v23.0 — Relais' WHATSAPP_API_URL. */
  baseUrl: string;
  origin: string;
  accessToken: string;
  phoneNumberId: string;
  close(): Promise<void>;
}

/**
 * Starts a Graph fake on 127.0.0.1:<random port>. Defaults: token `test-access-token`, WABA
 * `419561257915477`, any phone_number_id accepted (pass `phoneNumberId` to restrict);
 * `phoneNumberId` in the result is the first restricted id, else `106540352242922` (the [M] fixtures').
 */
export async function startGraphFake(opts: Partial<GraphFakeOptions> = {}): Promise<RunningGraphFake> {
  const accessToken = opts.accessToken ?? 'test-access-token';
  const restricted = typeof opts.phoneNumberId === 'string' ? [opts.phoneNumberId] : opts.phoneNumberId;
  const phoneNumberId = restricted?.[0] ?? '106540352242922';
  const fake = createGraphFake({ wabaId: '419561257915477', ...opts, accessToken });
  const running = await listen(fake.app);
  return {
    fake,
    baseUrl: `${running.origin}/v23.0`,
    origin: running.origin,
    accessToken,
    phoneNumberId,
    close: async () => {
      fake.releaseHung();
      await running.close();
    },
  };
}
