import { describe, expect, it } from 'vitest';
import { loadConfig, routeForNumber } from '../../src/config/load.js';

const noFile = async () => { throw new Error('ENOENT: no such file'); };

describe('loadConfig', () => {
  it('starts with nothing configured: development, simulator on, setup steps listed', async () => {
    const r = await loadConfig({}, noFile);
    expect(r.problems).toEqual([]);
    expect(r.config?.env).toBe('development');
    expect(r.config?.simulator).toBe(true);
    expect(r.config?.port).toBe(8080);
    expect(r.config?.dataDir).toBe('./data');
    expect(r.missing.join('\n')).toMatch(/MATTERMOST_URL is not set/);
    expect(r.missing.join('\n')).toMatch(/MATTERMOST_TOKEN is not set/);
  });

  it('lists every problem at once and never echoes a secret', async () => {
    const r = await loadConfig({
      PORT: 'eighty', DATABASE_URL: 'mysql://u:SuperSecret1@db/x', WHATSAPP_PHONE_NUMBER_ID: '12ab',
      MATTERMOST_URL: 'not a url', MATTERMOST_TOKEN: 'tok-SECRET-123', RELAIS_LANGUAGE: 'de',
    }, noFile);
    expect(r.config).toBeUndefined();
    const text = r.problems.join('\n');
    for (const key of ['PORT', 'DATABASE_URL', 'WHATSAPP_PHONE_NUMBER_ID', 'MATTERMOST_URL', 'RELAIS_LANGUAGE']) expect(text).toContain(key);
    expect(text).not.toContain('SuperSecret1');
    expect(text).not.toContain('tok-SECRET-123');
  });

  it('refuses production without a master key or WhatsApp credentials', async () => {
    const r = await loadConfig({ RELAIS_ENV: 'production', MATTERMOST_URL: 'https://mm.example', MATTERMOST_TOKEN: 't', MATTERMOST_TEAM: 'support' }, noFile);
    expect(r.config).toBeUndefined();
    const text = r.problems.join('\n');
    expect(text).toMatch(/RELAIS_MASTER_KEY or RELAIS_MASTER_KEY_FILE must be set in production/);
    expect(text).toMatch(/WHATSAPP_APP_SECRET is not set/);
    expect(text).toMatch(/WHATSAPP_PHONE_NUMBER_ID is not set/);
  });

  it('refuses the simulator in production', async () => {
    const r = await loadConfig({ RELAIS_ENV: 'production', RELAIS_SIMULATOR: 'on' }, noFile);
    expect(r.problems.join('\n')).toMatch(/simulator cannot run with RELAIS_ENV=production/);
  });

  it('runs workers by default; a webhook-only replica needs PostgreSQL', async () => {
    expect((await loadConfig({}, noFile)).config?.workers).toBe(true);
    const alone = await loadConfig({ RELAIS_WORKERS: 'false' }, noFile);
    expect(alone.config).toBeUndefined();
    expect(alone.problems.join('\n')).toMatch(/RELAIS_WORKERS=false needs DATABASE_URL/);
    const split = await loadConfig({ RELAIS_WORKERS: 'false', DATABASE_URL: 'postgres://relais@db:5432/relais' }, noFile);
    expect(split.config?.workers).toBe(false);
  });

  it('maps several numbers to their own teams from the YAML file, env number first', async () => {
    const yaml = `whatsapp:\n  numbers:\n    - phoneNumberId: "222222222"\n      team: sales\n      agents: [alice, "@sales"]\n`;
    const r = await loadConfig({
      RELAIS_CONFIG: '/etc/relais.yaml', WHATSAPP_PHONE_NUMBER_ID: '111111111', WHATSAPP_APP_SECRET: 's', WHATSAPP_VERIFY_TOKEN: 'v', WHATSAPP_ACCESS_TOKEN: 'a',
      MATTERMOST_URL: 'https://mm.example/', MATTERMOST_TOKEN: 't', MATTERMOST_TEAM: 'support', MATTERMOST_AGENTS: 'bob, carol',
    }, async () => yaml);
    expect(r.problems).toEqual([]);
    const c = r.config!;
    expect(c.simulator).toBe(false);
    expect(c.chat.mattermost?.url).toBe('https://mm.example');
    expect(c.whatsapp.numbers.map((n) => n.phoneNumberId)).toEqual(['111111111', '222222222']);
    expect(routeForNumber(c, '111111111')).toMatchObject({ team: 'support', agents: ['bob', 'carol'] });
    expect(routeForNumber(c, '222222222')).toMatchObject({ team: 'sales', agents: ['alice', '@sales'] });
    expect(routeForNumber(c, '333')).toBeUndefined();
  });

  it('reports a YAML file with unknown keys, naming the file and the key', async () => {
    const r = await loadConfig({ RELAIS_CONFIG: '/etc/relais.yaml' }, async () => 'whatsap:\n  numbers: []\n');
    expect(r.problems.join('\n')).toMatch(/\/etc\/relais\.yaml/);
    expect(r.problems.join('\n')).toMatch(/whatsap/);
  });

  it('reports an unreadable config file with what to do', async () => {
    const r = await loadConfig({ RELAIS_CONFIG: '/nope.yaml' }, noFile);
    expect(r.problems.join('\n')).toMatch(/RELAIS_CONFIG: cannot read \/nope\.yaml/);
  });
});
