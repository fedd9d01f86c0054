import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyRing } from '../../src/archive/keyring.js';
import { parseMasterKeys } from '../../src/archive/master-key.js';
import { initSodium } from '../../src/archive/sodium.js';
import { listKeyringMembers, startKeyringHeartbeat } from '../../src/compliance/keyring-heartbeat.js';
import { keyringMembers } from '../../src/db/schema/index.js';
import { captureLogger } from '../helpers/logger.js';
import { eventually, startTestRelais, type TestRelais } from '../helpers/relais.js';
import { keyList, newMasterKey } from './keys-seed.js';

describe('key-ring heartbeat', () => {
  let relais: TestRelais;
  beforeAll(async () => {
    await initSodium();
    const current = newMasterKey();
    const older = newMasterKey();
    relais = await startTestRelais({ platform: null, workers: false, persistent: true, env: { RELAIS_MASTER_KEY: keyList(current, older) } });
  });
  afterAll(async () => { await relais?.stop(); });

  it('a running bridge reports its key versions at start, refreshes them, and removes its row when it stops', async () => {
    const keys = parseMasterKeys(relais.env.RELAIS_MASTER_KEY!);
    const db = relais.runtime.database.db;
    const [me] = await listKeyringMembers(db);
    expect(me).toMatchObject({ currentKekVersion: keys[0]!.version, kekVersions: keys.map((k) => k.version), live: true });
    expect(me!.instanceId).toMatch(/^.+\/\d+\/[0-9a-f]{6}$/);

    // Another process with a fast timer: its row goes stale, then the timer refreshes it.
    const logs = captureLogger();
    const other = await startKeyringHeartbeat({ db, ring: createKeyRing([keys[1]!]), logger: logs.logger }, { instanceId: 'other', intervalMs: 50 });
    await db.update(keyringMembers).set({ seenAt: sql`now() - interval '10 minutes'` }).where(sql`${keyringMembers.instanceId} = 'other'`);
    expect((await listKeyringMembers(db)).find((m) => m.instanceId === 'other')?.live).toBe(false);
    await eventually(async () => (await listKeyringMembers(db)).find((m) => m.instanceId === 'other')?.live, 'heartbeat refreshed');
    await other.stop();
    await other.stop();

    await relais.stopRuntime();
    await relais.start();
    const members = await listKeyringMembers(relais.runtime.database.db);
    expect(members).toHaveLength(1);
    expect(members[0]!.instanceId).not.toBe(me!.instanceId);
    expect(logs.text()).toBe('');
  });
});
