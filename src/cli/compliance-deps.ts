import type { ChatPlatform } from '../chat/platform.js';
import type { ComplianceDeps } from '../compliance/deps.js';
import type { CliContext } from './context.js';

/** The compliance services' dependencies from an opened CLI context. Pure. */
export function complianceDeps(ctx: CliContext, platform: ChatPlatform | null = ctx.platform ?? null): ComplianceDeps {
  return { db: ctx.database.db, ring: ctx.ring, keys: ctx.keys, config: ctx.config, logger: ctx.logger, platform };
}
