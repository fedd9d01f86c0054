import { loadConfig } from '../config/load.js';

/** `relais check-config`: prints every problem at once (never a secret value); exit 1 if any. */
export async function runCheckConfig(env: NodeJS.ProcessEnv): Promise<number> {
  const r = await loadConfig(env);
  for (const p of r.problems) console.log(`error    ${p}`);
  for (const m of r.missing) console.log(`missing  ${m}`);
  for (const w of r.warnings) console.log(`warning  ${w}`);
  if (r.problems.length) {
    console.log(`\n${r.problems.length} problem(s): Relais will not start until they are fixed.`);
    return 1;
  }
  const c = r.config!;
  console.log(`\nConfiguration is valid (${c.env}). ${c.whatsapp.numbers.length} WhatsApp number(s), chat platform: ${c.chat.mattermost ? 'mattermost' : 'not configured'}${c.simulator ? ', WhatsApp simulator on' : ''}.`);
  return 0;
}
