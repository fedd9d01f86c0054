import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Paths pino blanks out in every log line. The house rule is stronger than this list (never pass
 * message text, phone numbers, wamids or tokens to a logger at all); redaction is the safety net
 * for the day someone forgets.
 */
export const REDACT_PATHS = [
  'token', '*.token', 'accessToken', '*.accessToken', 'access_token', '*.access_token',
  'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization',
  'password', '*.password', 'secret', '*.secret', 'appSecret', '*.appSecret',
  'masterKey', '*.masterKey', 'wamid', '*.wamid', 'wa_id', '*.wa_id', 'from', '*.from', 'to', '*.to',
  'phone', '*.phone', 'body', '*.body', 'text', '*.text', 'caption', '*.caption', 'profileName', '*.profileName',
  '*.message.text', 'payload', '*.payload',
];

/** Creates the process logger. Pure apart from writing to `destination` (stdout by default). */
export function createLogger(
  opts: { level?: string; name?: string } = {},
  destination?: pino.DestinationStream,
): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    name: opts.name ?? 'relais',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'relais' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Masks a phone number for display to agents: keeps the country prefix and the last 2 digits. */
export function maskPhone(e164Digits: string | undefined | null): string {
  if (!e164Digits) return '(hidden number)';
  const d = e164Digits.replace(/\D/g, '');
  if (d.length <= 4) return '+' + '•'.repeat(d.length);
  return '+' + d.slice(0, 2) + '•'.repeat(Math.max(0, d.length - 4)) + d.slice(-2);
}

/**
 * Log fields for a database error without its parameters: drizzle appends the query's bound
 * values ("params: …") to its messages, and those can be personal data.
 */
export function dbErrorFields(err: unknown): { code?: string; message: string } {
  const e = err as { message?: string; code?: string; cause?: { code?: string; message?: string } };
  const message = String(e?.message ?? err).split('\nparams:')[0]!.slice(0, 500);
  const cause = e?.cause?.message ? ` (${String(e.cause.message).split('\n')[0]!.slice(0, 200)})` : '';
  return { code: e?.code ?? e?.cause?.code, message: message + cause };
}
