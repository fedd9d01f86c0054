import { errorCode, RelaisError } from '../core/errors.js';
import { openCliContext, type CliContext } from './context.js';

/**
 * Runs one administrative command with an opened context and turns failures into an exit code
 * and one operator-readable line on stderr (the RelaisError message: it never holds a secret).
 * Exit codes: 0 done, 1 failed, 2 usage error (thrown as RelaisError('usage')).
 */
export async function runAdminCommand(env: NodeJS.ProcessEnv, opts: { platform?: boolean }, body: (ctx: CliContext) => Promise<number>): Promise<number> {
  let ctx: CliContext | undefined;
  try {
    ctx = await openCliContext(env, opts);
    return await body(ctx);
  } catch (err) {
    if (err instanceof RelaisError) {
      console.error(`relais: ${err.message}`);
      return err.code === 'usage' ? 2 : 1;
    }
    console.error(`relais: unexpected error (${errorCode(err)}): ${(err as Error)?.message ?? String(err)}`);
    return 1;
  } finally {
    await ctx?.close().catch(() => undefined);
  }
}

/** A usage error: exit code 2 with this message. */
export function usage(message: string): RelaisError {
  return new RelaisError('usage', message, { retryable: false });
}
