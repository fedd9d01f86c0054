/**
 * The logger handed to `@rocket.chat/sdk`. The SDK logs the DDP login credentials at info level
 * (`[DDP driver] Login with {"token":"…"}`) and every frame it sends, the login frame with its resume
 * token included, at debug level; its default logger is the console. This adapter routes it through
 * our pino logger without ever letting a credential through:
 *
 * - debug output (raw frames) is dropped; info becomes debug, warnings and errors become warn;
 * - only the first argument is kept, and only when it is a string; objects (the connection config,
 *   raw frames) are never forwarded;
 * - that string loses its `[ddp]`-style tag and is cut at the first `{` or `[` (where the SDK
 *   appends JSON), credentials-looking
 *   `key: value` pairs are blanked, every known secret is replaced by `[redacted]`, and it is bounded
 *   to 200 characters;
 * - anything mentioning a login is reduced to a constant line.
 */
import type { Logger } from '../../log.js';

export interface SdkLogger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  warning(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** The sanitised text of one SDK log call, or null when nothing of it may be logged. */
export function sanitiseSdkLine(args: unknown[], secrets: string[]): string | null {
  const first = args[0] instanceof Error ? args[0].message : args[0];
  if (typeof first !== 'string') return null;
  if (/login|resume|password|token/i.test(first)) return 'sdk login event';
  let line = first.replace(/^\[[^\]]*\]\s*/, '').split(/[{[]/)[0] ?? '';
  for (const s of secrets) if (s) line = line.split(s).join('[redacted]');
  line = line.replace(/(auth|token|password|secret|resume)\S*\s*[:=]\s*\S+/gi, '$1=[redacted]');
  line = line.trim().slice(0, 200);
  return line === '' ? null : line;
}

/** An SDK logger writing through `logger` (field `sdk`), never a secret among `secrets`. */
export function sdkLogger(logger: Logger, secrets: string[]): SdkLogger {
  const write = (level: 'debug' | 'warn', args: unknown[]) => {
    const line = sanitiseSdkLine(args, secrets);
    if (line !== null) logger[level]({ sdk: line }, 'rocketchat sdk');
  };
  return {
    debug: () => undefined,
    info: (...args) => write('debug', args),
    warn: (...args) => write('warn', args),
    warning: (...args) => write('warn', args),
    error: (...args) => write('warn', args),
  };
}
