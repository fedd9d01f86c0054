import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { envSchema, fileConfigSchema, type BusinessNumber, type EnvConfig, type FileConfig } from './schema.js';

/** The resolved configuration every other module receives. Built only by `loadConfig`. */
export interface RelaisConfig {
  env: 'development' | 'production';
  port: number;
  host: string;
  databaseUrl?: string;
  dataDir: string;
  masterKey: { inline?: string; file?: string };
  publicUrl?: string;
  language: 'en' | 'fr';
  logLevel: EnvConfig['LOG_LEVEL'];
  whatsapp: {
    appSecret?: string;
    verifyToken?: string;
    accessToken?: string;
    apiUrl: string;
    businessAccountId?: string;
    numbers: BusinessNumber[];
    ratePerSecond: number;
    pairBurst: number;
    pairIntervalSeconds: number;
    markRead: boolean;
  };
  chat: {
    platform: 'mattermost' | 'rocketchat';
    mattermost?: { url: string; token: string; team?: string; agents: string[] };
    rocketchat?: { url: string; userId: string; token: string; team?: string; agents: string[] };
  };
  /** The built-in WhatsApp simulator stands in for Meta. */
  simulator: boolean;
  /** Run job workers and compete for the chat listener here (RELAIS_WORKERS). */
  workers: boolean;
  relayConcurrency: number;
  sendConcurrency: number;
  notePrefix: string;
  mediaMaxBytes: number;
  plugins: Record<string, unknown>;
  compliance: {
    /** Global retention; a number's `retentionDays` overrides it. Undefined: keep. */
    retentionDays?: number;
    retentionPruneChat: boolean;
    eraseChatPolicy: 'delete' | 'archive' | 'keep';
    adminApi: { enabled: boolean; ratePerMinute: number };
  };
}

export interface ConfigResult {
  /** Present when there is no blocking problem. */
  config?: RelaisConfig;
  /** Blocking problems, all at once, each naming the setting and what to do. Never contains a secret value. */
  problems: string[];
  /**
   * Setup still to do. The bridge starts anyway and shows these on the console, on `/` and in
   * `/readyz` (e.g. "MATTERMOST_URL is not set: customer messages wait in the queue until it is").
   */
  missing: string[];
  warnings: string[];
}

function zodProblems(prefix: string, err: z.ZodError): string[] {
  return err.issues.map((i) => {
    const path = i.path.join('.');
    return `${prefix}${path ? path + ': ' : ''}${i.message}`;
  });
}

/**
 * Validates the environment (and the YAML file it names) and lists every problem at once.
 * Pure apart from reading the YAML file; never throws for bad input.
 */
export async function loadConfig(
  env: Record<string, string | undefined>,
  readText: (path: string) => Promise<string> = (p) => readFile(p, 'utf8'),
): Promise<ConfigResult> {
  const problems: string[] = [];
  const missing: string[] = [];
  const warnings: string[] = [];
  // Empty strings in env mean "unset" (Helm and compose render empty values).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  // Field by field, so one bad value does not hide the problems the others would reveal.
  const values: Record<string, unknown> = {};
  let envValid = true;
  for (const [key, schema] of Object.entries(envSchema.shape)) {
    const r = (schema as z.ZodType).safeParse(cleaned[key]);
    if (r.success) values[key] = r.data;
    else {
      envValid = false;
      problems.push(...zodProblems(`${key}: `, r.error));
      values[key] = (schema as z.ZodType).safeParse(undefined).data;
    }
  }
  const e = values as EnvConfig;

  let file: FileConfig = {};
  if (cleaned.RELAIS_CONFIG) {
    try {
      const text = await readText(cleaned.RELAIS_CONFIG);
      const parsedFile = fileConfigSchema.safeParse(parseYaml(text) ?? {});
      if (parsedFile.success) file = parsedFile.data;
      else problems.push(...zodProblems(`${cleaned.RELAIS_CONFIG}: `, parsedFile.error));
    } catch (err) {
      problems.push(`RELAIS_CONFIG: cannot read ${cleaned.RELAIS_CONFIG} (${(err as Error).message.split('\n')[0]}); fix the path or unset RELAIS_CONFIG`);
    }
  }
  const envName: 'development' | 'production' = e.RELAIS_ENV ?? (e.NODE_ENV === 'production' ? 'production' : 'development');
  const production = envName === 'production';

  const waConfigured = Boolean(e.WHATSAPP_APP_SECRET || e.WHATSAPP_ACCESS_TOKEN || e.WHATSAPP_PHONE_NUMBER_ID || file.whatsapp?.numbers);
  const simulator = e.RELAIS_SIMULATOR ?? (!production && !waConfigured);
  if (simulator && production) problems.push('RELAIS_SIMULATOR: the WhatsApp simulator cannot run with RELAIS_ENV=production; unset RELAIS_SIMULATOR');

  let numbers: BusinessNumber[] = file.whatsapp?.numbers ?? [];
  if (e.WHATSAPP_PHONE_NUMBER_ID) {
    if (numbers.some((n) => n.phoneNumberId === e.WHATSAPP_PHONE_NUMBER_ID)) {
      warnings.push('WHATSAPP_PHONE_NUMBER_ID is also listed in the config file; the file entry is used');
    } else {
      numbers = [{ phoneNumberId: e.WHATSAPP_PHONE_NUMBER_ID }, ...numbers];
    }
  }
  const ids = new Set<string>();
  for (const n of numbers) {
    if (ids.has(n.phoneNumberId)) problems.push(`whatsapp.numbers: phoneNumberId ${n.phoneNumberId} is listed twice; keep one entry`);
    ids.add(n.phoneNumberId);
  }

  if (!simulator) {
    const need = (name: string, present: boolean, why: string) => {
      if (present) return;
      (production ? problems : missing).push(`${name} is not set: ${why}`);
    };
    need('WHATSAPP_APP_SECRET', Boolean(e.WHATSAPP_APP_SECRET), 'webhooks cannot be verified, so every webhook is refused (401). Copy the App Secret from Meta App Dashboard › Settings › Basic');
    need('WHATSAPP_VERIFY_TOKEN', Boolean(e.WHATSAPP_VERIFY_TOKEN), 'Meta\'s webhook verification handshake fails. Choose a random string and type the same one in the Meta dashboard');
    need('WHATSAPP_ACCESS_TOKEN', Boolean(e.WHATSAPP_ACCESS_TOKEN) || numbers.every((n) => n.accessToken) && numbers.length > 0, 'media cannot be downloaded and replies cannot be sent. Create a system-user token with whatsapp_business_messaging');
    need('WHATSAPP_PHONE_NUMBER_ID', numbers.length > 0, 'no business number is configured, so every webhook is quarantined. Set it, or list numbers in relais.config.yaml');
  }

  let mattermost: RelaisConfig['chat']['mattermost'];
  let rocketchat: RelaisConfig['chat']['rocketchat'];
  if (e.CHAT_PLATFORM === 'mattermost') {
    const mmSet = [e.MATTERMOST_URL, e.MATTERMOST_TOKEN].filter(Boolean).length;
    if (e.MATTERMOST_URL && e.MATTERMOST_TOKEN) {
      mattermost = { url: e.MATTERMOST_URL.replace(/\/+$/, ''), token: e.MATTERMOST_TOKEN, team: e.MATTERMOST_TEAM, agents: e.MATTERMOST_AGENTS ?? [] };
    } else {
      const list = production || mmSet > 0 ? problems : missing;
      if (!e.MATTERMOST_URL) list.push('MATTERMOST_URL is not set: customer messages are stored and wait in the queue until Relais can post them. Set it to your Mattermost base URL');
      if (!e.MATTERMOST_TOKEN) list.push('MATTERMOST_TOKEN is not set: create a bot account (System Console › Integrations › Bot Accounts), add it to the team as a team admin, and paste its access token');
    }
    if (mattermost && !mattermost.team && numbers.some((n) => !n.team)) {
      (production ? problems : missing).push('MATTERMOST_TEAM is not set: Relais does not know in which team to open customer channels. Set it to the team\'s URL name (or give every number a team in relais.config.yaml)');
    }
  } else {
    const set = [e.ROCKETCHAT_URL, e.ROCKETCHAT_USER_ID, e.ROCKETCHAT_TOKEN].filter(Boolean).length;
    if (e.ROCKETCHAT_URL && e.ROCKETCHAT_USER_ID && e.ROCKETCHAT_TOKEN) {
      rocketchat = { url: e.ROCKETCHAT_URL.replace(/\/+$/, ''), userId: e.ROCKETCHAT_USER_ID, token: e.ROCKETCHAT_TOKEN, team: e.ROCKETCHAT_TEAM, agents: e.ROCKETCHAT_AGENTS ?? [] };
    } else {
      const list = production || set > 0 ? problems : missing;
      if (!e.ROCKETCHAT_URL) list.push('ROCKETCHAT_URL is not set: customer messages are stored and wait in the queue until Relais can post them. Set it to your Rocket.Chat base URL');
      if (!e.ROCKETCHAT_USER_ID) list.push('ROCKETCHAT_USER_ID is not set: create a user with the bot role for Relais and give its user id');
      if (!e.ROCKETCHAT_TOKEN) list.push('ROCKETCHAT_TOKEN is not set: create a personal access token for the Relais bot user (My Account › Personal Access Tokens) and paste it');
    }
  }
  if (!e.RELAIS_PUBLIC_URL) {
    (production ? warnings : missing).push('RELAIS_PUBLIC_URL is not set: Relais cannot tell you the webhook URL to paste in Meta\'s dashboard');
  }
  if (production && !e.RELAIS_MASTER_KEY && !e.RELAIS_MASTER_KEY_FILE) {
    problems.push('RELAIS_MASTER_KEY or RELAIS_MASTER_KEY_FILE must be set in production: it encrypts the archive. Generate one with `openssl rand -base64 32` and keep it in your secret store');
  }
  if (e.RELAIS_MASTER_KEY && e.RELAIS_MASTER_KEY_FILE) {
    warnings.push('Both RELAIS_MASTER_KEY and RELAIS_MASTER_KEY_FILE are set; RELAIS_MASTER_KEY is used');
  }
  if (e.RELAIS_WORKERS === false && !e.DATABASE_URL) {
    problems.push('RELAIS_WORKERS=false needs DATABASE_URL: with the embedded database no other replica can run the workers, so messages would wait forever. Unset RELAIS_WORKERS or use PostgreSQL');
  }
  if (production && !e.DATABASE_URL) {
    warnings.push('DATABASE_URL is not set: production is running on the embedded PGlite database (one replica only, no external backups). Use PostgreSQL 15+');
  }

  if (problems.length > 0 || !envValid) return { problems, missing, warnings };
  const config: RelaisConfig = {
    env: envName,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.RELAIS_DATA_DIR,
    masterKey: { inline: e.RELAIS_MASTER_KEY, file: e.RELAIS_MASTER_KEY_FILE },
    publicUrl: e.RELAIS_PUBLIC_URL?.replace(/\/+$/, ''),
    language: e.RELAIS_LANGUAGE,
    logLevel: e.LOG_LEVEL,
    whatsapp: {
      appSecret: e.WHATSAPP_APP_SECRET,
      verifyToken: e.WHATSAPP_VERIFY_TOKEN,
      accessToken: e.WHATSAPP_ACCESS_TOKEN,
      apiUrl: e.WHATSAPP_API_URL.replace(/\/+$/, ''),
      businessAccountId: e.WHATSAPP_BUSINESS_ACCOUNT_ID,
      numbers,
      ratePerSecond: e.WHATSAPP_RATE_PER_SECOND,
      pairBurst: e.WHATSAPP_PAIR_BURST,
      pairIntervalSeconds: e.WHATSAPP_PAIR_INTERVAL_SECONDS,
      markRead: e.RELAIS_MARK_READ,
    },
    chat: { platform: e.CHAT_PLATFORM, mattermost, rocketchat },
    simulator,
    workers: e.RELAIS_WORKERS,
    relayConcurrency: e.RELAY_CONCURRENCY,
    sendConcurrency: e.SEND_CONCURRENCY,
    notePrefix: e.RELAIS_NOTE_PREFIX,
    mediaMaxBytes: e.MEDIA_MAX_BYTES,
    plugins: file.plugins ?? {},
    compliance: {
      retentionDays: e.RETENTION_DAYS,
      retentionPruneChat: e.RETENTION_PRUNE_CHAT,
      eraseChatPolicy: e.ERASE_CHAT_POLICY,
      adminApi: { enabled: e.ADMIN_API_ENABLED, ratePerMinute: e.ADMIN_API_RATE_PER_MINUTE },
    },
  };
  return { config, problems, missing, warnings };
}

/** The team and agents for a business number: its own settings, else the global ones. */
export function routeForNumber(config: RelaisConfig, phoneNumberId: string): { team?: string; agents: string[]; accessToken?: string } | undefined {
  const n = config.whatsapp.numbers.find((x) => x.phoneNumberId === phoneNumberId);
  if (!n) return undefined;
  const chat = config.chat.mattermost ?? config.chat.rocketchat;
  return { team: n.team ?? chat?.team, agents: n.agents ?? chat?.agents ?? [], accessToken: n.accessToken ?? config.whatsapp.accessToken };
}
