import { z } from 'zod';

/**
 * The whole configuration surface of Relais: one zod schema with a description on every key.
 * `docs/configuration.md` is the human version of this file; keep them in step.
 *
 * Environment variables set the common case (one WhatsApp number, one team). The optional
 * YAML file (`RELAIS_CONFIG`) carries what env vars express badly: several numbers, each
 * mapped to its own team and agents, and plugin settings.
 */

const csv = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

const boolish = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes' || v === 'on');

export const DEFAULT_GRAPH_API_URL = 'https://graph.facebook.com/v23.0';

export const businessNumberSchema = z.object({
  phoneNumberId: z.string().regex(/^\d{5,20}$/, 'a WhatsApp phone_number_id is 5 to 20 digits')
    .describe('The phone_number_id Meta shows for this business number (not the phone number itself).'),
  team: z.string().min(1).optional().describe('Chat team (Mattermost team name) whose channels receive this number\'s customers.'),
  agents: z.array(z.string().min(1)).optional().describe('Usernames (or @group) added to each customer channel of this number.'),
  accessToken: z.string().min(1).optional().describe('Graph API access token for this number, when it differs from WHATSAPP_ACCESS_TOKEN.'),
  label: z.string().optional().describe('Name shown to agents for this number (e.g. "Support FR").'),
  retentionDays: z.number().int().min(1).max(36500).optional().describe('Retention for this number\'s conversations, overriding RETENTION_DAYS.'),
});
export type BusinessNumber = z.infer<typeof businessNumberSchema>;

/** Shape of `relais.config.yaml`. Every key is optional; env vars fill the rest. */
export const fileConfigSchema = z.object({
  whatsapp: z.object({
    numbers: z.array(businessNumberSchema).min(1).optional(),
  }).strict().optional(),
  plugins: z.record(z.string(), z.unknown()).optional().describe('Plugin settings by plugin name.'),
}).strict();
export type FileConfig = z.infer<typeof fileConfigSchema>;

/** Environment variables, by their public names. Keep these names: they are a public contract. */
export const envSchema = z.object({
  NODE_ENV: z.string().optional(),
  RELAIS_ENV: z.enum(['development', 'production']).optional()
    .describe('"production" refuses to start without a master key and with the simulator. Defaults to production when NODE_ENV=production, else development.'),
  PORT: z.coerce.number().int().min(1).max(65535).default(8080).describe('HTTP port for webhooks, health, metrics and the admin pages.'),
  HOST: z.string().default('0.0.0.0').describe('Interface to listen on.'),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').optional()
    .describe('PostgreSQL 15+ connection string. Unset: embedded PGlite database in RELAIS_DATA_DIR.'),
  RELAIS_DATA_DIR: z.string().default('./data').describe('Directory for the embedded database and the generated development key.'),
  RELAIS_MASTER_KEY: z.string().optional().describe('Master key (KEK): base64 of 32 random bytes. Several keys separated by commas: the first encrypts, all decrypt (rotation).'),
  RELAIS_MASTER_KEY_FILE: z.string().optional().describe('File holding the master key(s), same format as RELAIS_MASTER_KEY. Preferred in Kubernetes (mounted Secret).'),
  RELAIS_PUBLIC_URL: z.string().url().optional().describe('Public HTTPS base URL of this Relais (used in the Meta webhook URL and slash commands).'),
  RELAIS_LANGUAGE: z.enum(['en', 'fr']).default('en').describe('Language of the words agents and customers read.'),
  RELAIS_CONFIG: z.string().optional().describe('Path of the optional relais.config.yaml.'),
  WHATSAPP_APP_SECRET: z.string().min(1).optional().describe('Meta app secret: verifies X-Hub-Signature-256 on webhooks.'),
  WHATSAPP_VERIFY_TOKEN: z.string().min(1).optional().describe('Token you type in the Meta dashboard for the webhook verification handshake.'),
  WHATSAPP_ACCESS_TOKEN: z.string().min(1).optional().describe('System-user access token with whatsapp_business_messaging.'),
  WHATSAPP_PHONE_NUMBER_ID: z.string().regex(/^\d{5,20}$/, 'a WhatsApp phone_number_id is 5 to 20 digits').optional()
    .describe('phone_number_id of the business number (several numbers: use relais.config.yaml).'),
  WHATSAPP_BUSINESS_ACCOUNT_ID: z.string().regex(/^\d{5,20}$/, 'a WhatsApp Business Account id is 5 to 20 digits').optional()
    .describe('WhatsApp Business Account (WABA) id: Relais syncs its approved message templates for /wa template.'),
  WHATSAPP_API_URL: z.string().url().default(DEFAULT_GRAPH_API_URL).describe('Graph API base including the version. Overridden by tests and the simulator.'),
  CHAT_PLATFORM: z.enum(['mattermost', 'rocketchat']).default('mattermost').describe('Chat platform agents use: mattermost or rocketchat.'),
  MATTERMOST_URL: z.string().url().optional().describe('Base URL of the Mattermost server, e.g. https://chat.example.com.'),
  MATTERMOST_TOKEN: z.string().min(1).optional().describe('Access token of the Relais bot account.'),
  MATTERMOST_TEAM: z.string().min(1).optional().describe('Team name (URL name) where customer channels are created.'),
  MATTERMOST_AGENTS: csv.optional().describe('Comma-separated usernames and/or @group names added to each customer channel.'),
  RELAIS_NOTE_PREFIX: z.string().min(1).max(10).default('//').describe('Agent posts starting with this stay internal notes for colleagues and are never sent.'),
  RELAIS_MARK_READ: boolish.default(true).describe('Mark the customer\'s messages as read on WhatsApp when an agent answers.'),
  WHATSAPP_RATE_PER_SECOND: z.coerce.number().min(1).max(1000).default(80).describe('Outbound messages per second per business number (Cloud API tier: 80 by default, up to 1,000; 20 for coexistence numbers).'),
  WHATSAPP_PAIR_BURST: z.coerce.number().int().min(1).max(100).default(20).describe('Messages to one customer in a burst before pacing to one every WHATSAPP_PAIR_INTERVAL_SECONDS.'),
  WHATSAPP_PAIR_INTERVAL_SECONDS: z.coerce.number().min(0.1).max(60).default(6).describe('Steady pace to one customer after a burst (WhatsApp\'s pair limit is about one message per 6 s).'),
  SEND_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16).describe('Send jobs (agent → WhatsApp) processed at once by this replica.'),
  ROCKETCHAT_URL: z.string().url().optional().describe('Base URL of the Rocket.Chat server, e.g. https://chat.example.com.'),
  ROCKETCHAT_USER_ID: z.string().min(1).optional().describe('User id of the Relais bot user (a user with the bot role).'),
  ROCKETCHAT_TOKEN: z.string().min(1).optional().describe('Personal access token of that user (the bot role also bypasses the REST rate limiter).'),
  ROCKETCHAT_AGENTS: csv.optional().describe('Comma-separated usernames, and/or team:<name> or role:<name>, whose members join each customer room.'),
  ROCKETCHAT_TEAM: z.string().min(1).optional().describe('Optional label for the Rocket.Chat side of routing (numbers still map to agents); rooms are private groups.'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Log level.'),
  RELAIS_SIMULATOR: boolish.optional().describe('Force the built-in WhatsApp simulator on or off. Default: on in development when no WhatsApp credentials are set.'),
  RELAIS_WORKERS: boolish.default(true)
    .describe('Run the job workers (relay to chat, sends to WhatsApp, delivery indicators, retention, erasure upkeep) and compete for the chat listener in this replica. false: this replica only answers HTTP (webhooks, slash commands, admin API, health, metrics); other replicas with workers do the rest. Needs DATABASE_URL.'),
  RELAY_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8).describe('Relay jobs processed at once by this replica.'),
  MEDIA_MAX_BYTES: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(100 * 1024 * 1024)
    .describe('Global cap on one inbound media file, on top of WhatsApp\'s per-type limits.'),
  RETENTION_DAYS: z.coerce.number().int().min(1).max(36500).optional()
    .describe('Delete message content and media older than this many days (daily job). Unset: keep until erased. Per-number overrides in relais.config.yaml.'),
  RETENTION_PRUNE_CHAT: boolish.default(false).describe('Also delete the chat posts Relais created for messages the retention job purges.'),
  ERASE_CHAT_POLICY: z.enum(['delete', 'archive', 'keep']).default('delete')
    .describe('What `relais erase` does with the customer\'s chat channel and its files: delete it, archive it, or keep it.'),
  ADMIN_API_ENABLED: boolish.default(true).describe('Serve the admin API under /api/v1 (bearer tokens from `relais tokens create`).'),
  ADMIN_API_RATE_PER_MINUTE: z.coerce.number().int().min(1).max(100000).default(120)
    .describe('Admin API requests per minute per token (and per client address for failed authentication).'),
});
export type EnvConfig = z.infer<typeof envSchema>;
