import { Writable } from 'node:stream';
import { createLogger } from '../../src/log.js';

/** A real pino logger (same redaction as production) whose lines are kept for assertions. */
export function captureLogger(level = 'debug') {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) { lines.push(...String(chunk).split('\n').filter(Boolean)); cb(); },
  });
  const logger = createLogger({ level }, stream);
  return { logger, lines, text: () => lines.join('\n') };
}
