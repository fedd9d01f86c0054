/**
 * What `relais keys status` shows: which master-key (KEK) versions the stored keys use, which
 * versions this process and each running replica have loaded, and what needs attention.
 * Read-only; never decrypts anything.
 */
import { eq, isNotNull, sql } from 'drizzle-orm';
import type { KeyRing } from '../archive/keyring.js';
import type { Db } from '../db/client.js';
import { customerKeys, quarantine, settings } from '../db/schema/index.js';
import { listKeyringMembers, type KeyringMember } from './keyring-heartbeat.js';

/** Stored keys and sealed data per KEK version. */
export interface KeyUsage {
  /** Wrapped customer data keys per KEK version. */
  dataKeys: Map<number, number>;
  /** KEK version wrapping the blind-index root (`settings.index_root`), null before first start. */
  indexRoot: number | null;
  /** Quarantined webhook payloads per KEK version (sealed with a key derived from that KEK). */
  quarantine: Map<number, number>;
  /** Other `settings` rows that record a KEK version (none today; listed so none is forgotten). */
  otherSettings: { key: string; kekVersion: number }[];
}

/** One line of the per-version table. */
export interface VersionUsage {
  version: number;
  current: boolean;
  loadedHere: boolean;
  dataKeys: number;
  indexRoot: boolean;
  quarantine: number;
}

/** The whole status, as `--json` prints it. */
export interface KeyStatus {
  currentVersion: number;
  loadedVersions: number[];
  versions: VersionUsage[];
  replicas: KeyringMember[];
  /** Rows not yet under the current version (what `relais keys rotate` would rewrap). */
  pendingRotation: { dataKeys: number; indexRoot: boolean; quarantine: number };
  warnings: string[];
}

async function countBy(db: Db, table: typeof customerKeys | typeof quarantine): Promise<Map<number, number>> {
  const rows = await db.select({ v: table.kekVersion, n: sql<number>`count(*)::int` }).from(table).groupBy(table.kekVersion);
  return new Map(rows.map((r) => [r.v, Number(r.n)]));
}

/** Counts stored keys and sealed rows per KEK version (GROUP BY on indexed small tables). */
export async function keyUsage(db: Db): Promise<KeyUsage> {
  const [dataKeys, quarantineCounts, wrappedSettings] = await Promise.all([
    countBy(db, customerKeys),
    countBy(db, quarantine),
    db.select({ key: settings.key, kekVersion: settings.kekVersion }).from(settings).where(isNotNull(settings.kekVersion)),
  ]);
  const root = wrappedSettings.find((s) => s.key === 'index_root');
  return {
    dataKeys,
    indexRoot: root?.kekVersion ?? null,
    quarantine: quarantineCounts,
    otherSettings: wrappedSettings.filter((s) => s.key !== 'index_root').map((s) => ({ key: s.key, kekVersion: s.kekVersion! })),
  };
}

/** The index-root row's KEK version, or null when absent. */
export async function indexRootVersion(db: Db): Promise<number | null> {
  const [row] = await db.select({ v: settings.kekVersion }).from(settings).where(eq(settings.key, 'index_root')).limit(1);
  return row?.v ?? null;
}

/**
 * Builds the status for `ring` (this process's key list). Warnings name what to do: rows under
 * a version not loaded here, replicas missing the current version or wrapping new keys with
 * another one, rows still waiting for `relais keys rotate`.
 */
export async function keyStatus(db: Db, ring: KeyRing): Promise<KeyStatus> {
  const usage = await keyUsage(db);
  const replicas = await listKeyringMembers(db);
  const loaded = new Set(ring.kekVersions);
  const all = new Set<number>([...ring.kekVersions, ...usage.dataKeys.keys(), ...usage.quarantine.keys()]);
  if (usage.indexRoot !== null) all.add(usage.indexRoot);
  const versions = [...all].map((v) => ({
    version: v,
    current: v === ring.currentKekVersion,
    loadedHere: loaded.has(v),
    dataKeys: usage.dataKeys.get(v) ?? 0,
    indexRoot: usage.indexRoot === v,
    quarantine: usage.quarantine.get(v) ?? 0,
  })).sort((a, b) => Number(b.current) - Number(a.current) || ring.kekVersions.indexOf(a.version) - ring.kekVersions.indexOf(b.version) || a.version - b.version);

  const warnings: string[] = [];
  for (const v of versions) {
    if (!v.loadedHere && (v.dataKeys > 0 || v.indexRoot || v.quarantine > 0)) {
      warnings.push(`Master key version ${v.version} wraps ${describe(v)} but is not in this key list: that data is unreadable here. Add the key after the current one in RELAIS_MASTER_KEY, or it is lost.`);
    }
  }
  for (const s of usage.otherSettings) warnings.push(`Setting "${s.key}" records master key version ${s.kekVersion}; relais keys rotate does not know how to rewrap it.`);
  const pending = {
    dataKeys: versions.filter((v) => !v.current).reduce((n, v) => n + v.dataKeys, 0),
    indexRoot: usage.indexRoot !== null && usage.indexRoot !== ring.currentKekVersion,
    quarantine: versions.filter((v) => !v.current).reduce((n, v) => n + v.quarantine, 0),
  };
  if (pending.dataKeys > 0 || pending.indexRoot || pending.quarantine > 0) {
    warnings.push(`${pending.dataKeys} data key(s)${pending.indexRoot ? ', the index root' : ''} and ${pending.quarantine} quarantined payload(s) are not under the current version ${ring.currentKekVersion} yet: run "relais keys rotate".`);
  }
  for (const r of replicas.filter((m) => m.live)) {
    if (!r.kekVersions.includes(ring.currentKekVersion)) {
      warnings.push(`Replica ${r.instanceId} has not loaded version ${ring.currentKekVersion} (loaded: ${r.kekVersions.join(', ')}): deploy the new key list to it before rotating.`);
    } else if (r.currentKekVersion !== ring.currentKekVersion) {
      warnings.push(`Replica ${r.instanceId} wraps new data keys with version ${r.currentKekVersion}, not ${ring.currentKekVersion}: put the new key first in its key list.`);
    }
  }
  return { currentVersion: ring.currentKekVersion, loadedVersions: [...ring.kekVersions], versions, replicas, pendingRotation: pending, warnings };
}

function describe(v: VersionUsage): string {
  const parts = [`${v.dataKeys} data key(s)`];
  if (v.indexRoot) parts.push('the blind-index root');
  if (v.quarantine > 0) parts.push(`${v.quarantine} quarantined payload(s)`);
  return parts.join(', ');
}
