/** Loading rules.yaml: reading the file, ${ENV} substitution, and what targets inherit. */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { MAX_CONFIG_BYTES } from '../../src/config/read-file.js';
import type { HttpTarget, Target, TcpTarget } from '../../src/config/schema.js';
import { DEFAULTS_INHERITANCE, yaml } from './fixtures.js';

function target<T extends Target>(text: string, env: NodeJS.ProcessEnv = {}, index = 0): T {
  const found = parseConfig(text, 'rules.yaml', env).targets[index];
  assert.ok(found, `no target ${index}`);
  return found as T;
}

async function loadError(path: string): Promise<string[]> {
  const error: unknown = await loadConfig(path, {}).then(
    () => assert.fail('the config was accepted'),
    (rejection: unknown) => rejection,
  );
  assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
  return error.lines;
}

describe('environment variables', () => {
  const http = (...extra: string[]) => yaml('targets:', '  - name: api', '    type: http', '    url: ${API_URL:-http://127.0.0.1:8080/health}', ...extra);

  it('substitutes ${VAR}, and uses the default of ${VAR:-default} when the variable is unset or empty', () => {
    const text = http('    headers:', '      Authorization: Bearer ${API_TOKEN}');
    assert.deepEqual(target<HttpTarget>(text, { API_TOKEN: 's3cret' }).url, 'http://127.0.0.1:8080/health');
    assert.deepEqual(target<HttpTarget>(text, { API_TOKEN: 's3cret', API_URL: '' }).url, 'http://127.0.0.1:8080/health');
    const set = target<HttpTarget>(text, { API_TOKEN: 's3cret', API_URL: 'https://127.0.0.2/ready' });
    assert.equal(set.url, 'https://127.0.0.2/ready');
    assert.deepEqual(set.headers, { Authorization: 'Bearer s3cret' });
  });

  it('keeps $${ as a literal ${', () => {
    const text = http('    body: \'{"user": "$${USER}", "home": "${HOME_DIR}"}\'');
    assert.equal(target<HttpTarget>(text, { HOME_DIR: '/home/ops', USER: 'root' }).body, '{"user": "${USER}", "home": "/home/ops"}');
  });

  it('leaves a value that only looks like YAML as text', () => {
    const text = http('    body: ${PAYLOAD}');
    const payload = 'a: 1\nport: [2]\n- x';
    assert.equal(target<HttpTarget>(text, { PAYLOAD: payload }).body, payload);
  });

  it('reads a whole-value ${DB_PORT} as a number where a number is wanted, and keeps it text where text is', () => {
    const text = yaml(
      'targets:',
      '  - name: db',
      '    type: tcp',
      '    host: ${DB_HOST:-127.0.0.1}',
      '    port: ${DB_PORT}',
      '    failureThreshold: ${THRESHOLD:-5}',
      '    labels:',
      '      tenant: ${DB_PORT}',
    );
    const db = target<TcpTarget>(text, { DB_PORT: '5432' });
    assert.equal(db.port, 5432);
    assert.equal(db.failureThreshold, 5);
    assert.equal(db.host, '127.0.0.1');
    assert.deepEqual(db.labels, { tenant: '5432' });
  });

  it('reads a whole-value ${VAR} as true or false where a boolean is wanted', () => {
    assert.equal(target<HttpTarget>(http('    insecure: ${INSECURE}'), { INSECURE: 'true' }).insecure, true);
  });

  it('still rejects a ${DB_PORT} that is not a port', () => {
    const text = yaml('targets:', '  - name: db', '    type: tcp', '    host: 127.0.0.1', '    port: ${DB_PORT}');
    assert.throws(() => parseConfig(text, 'rules.yaml', { DB_PORT: 'postgres' }), {
      lines: ['rules.yaml:5:11 targets[0].port: must be an integer 1-65535'],
    });
  });
});

describe('defaults inheritance', () => {
  const text = DEFAULTS_INHERITANCE;

  it('fills a target from defaults, then from the built-in values', () => {
    const inherits = target(text);
    assert.equal(inherits.schedule, '*/5 * * * *');
    assert.equal(inherits.timeout, 2000);
    assert.equal(inherits.failureThreshold, 4);
    assert.deepEqual(inherits.notify, ['ops']);
    assert.equal(inherits.successThreshold, 2); // built-in
    assert.equal(inherits.retryInterval, 5000); // built-in
    assert.deepEqual(inherits.flap, { window: 21, high: 30, low: 15 }); // built-in
  });

  it("lets a target's own settings win, and its interval replace the inherited schedule", () => {
    const overrides = target(text, {}, 1);
    assert.equal(overrides.interval, 10_000);
    assert.equal('schedule' in overrides, false);
    assert.equal(overrides.timeout, 500);
    assert.equal(overrides.failureThreshold, 4);
    assert.deepEqual(overrides.notify, ['log']);
  });

  it('gives a scheduled target the zone it or defaults name; an interval target takes none', () => {
    const zones = yaml(
      'defaults:',
      '  schedule: "0 9 * * *"',
      '  timezone: Europe/Paris',
      'targets:',
      ...['a', 'b', 'c'].flatMap((name) => [`  - name: ${name}`, '    type: tcp', '    host: 127.0.0.1', '    port: 5432']),
      '    timezone: Asia/Tokyo',
    ).replace('  - name: b\n', '  - name: b\n    interval: 30s\n');
    const [a, b, c] = parseConfig(zones, 'rules.yaml', {}).targets;
    assert.deepEqual([a?.schedule, a?.timezone], ['0 9 * * *', 'Europe/Paris']);
    assert.deepEqual([b?.interval, 'schedule' in b!, 'timezone' in b!], [30_000, false, false]);
    assert.deepEqual([c?.schedule, c?.timezone], ['0 9 * * *', 'Asia/Tokyo']);
  });

  it('applies the built-in values and section defaults to a minimal file', () => {
    const config = parseConfig(yaml('targets:', '  - name: db', '    type: tcp', '    host: 127.0.0.1', '    port: 5432'), 'rules.yaml', {});
    assert.equal(config.targets[0]?.interval, 30_000);
    assert.deepEqual(config.server, { host: '0.0.0.0', port: 8080 });
    assert.deepEqual(config.state, { dir: './data', flushInterval: 1000 });
    assert.deepEqual(config.delivery, { groupWait: 10_000, giveUpAfter: 86_400_000, maxBackoff: 300_000, resolveRemoved: true });
    assert.deepEqual(Object.keys(config.notifiers), ['log']);
  });
});

describe('reading the file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'probebot-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a file from disk, naming it as given in errors', async () => {
    const path = join(dir, 'good.yaml');
    await writeFile(path, yaml('targets:', '  - name: db', '    type: tcp', '    host: 127.0.0.1', '    port: ${DB_PORT}'));
    const config = await loadConfig(path, { DB_PORT: '5432' });
    assert.equal((config.targets[0] as TcpTarget).port, 5432);
    assert.deepEqual(await loadError(path), [`${path}:5:11 targets[0].port: environment variable DB_PORT is not set`]);
  });

  it('says the file does not exist', async () => {
    assert.deepEqual(await loadError(join(dir, 'missing.yaml')), [`${join(dir, 'missing.yaml')}: cannot read: no such file`]);
  });

  it('says the path is a directory', async () => {
    assert.deepEqual(await loadError(dir), [`${dir}: cannot read: is a directory`]);
  });

  it('says the file cannot be read for lack of permission', async (t) => {
    if (process.getuid?.() === 0) return t.skip('root can read any file');
    const path = join(dir, 'secret.yaml');
    await writeFile(path, 'targets: []\n');
    await chmod(path, 0o000);
    assert.deepEqual(await loadError(path), [`${path}: cannot read: permission denied`]);
  });

  it('refuses a binary file', async () => {
    const path = join(dir, 'probebot.db');
    await writeFile(path, Buffer.from([0x53, 0x51, 0x4c, 0x00, 0x01, 0xff]));
    assert.deepEqual(await loadError(path), [`${path}: is not a text file (it contains NUL bytes)`]);
  });

  it('refuses text that is not UTF-8', async () => {
    const path = join(dir, 'latin1.yaml');
    await writeFile(path, Buffer.from('targets: []\n# caf\xe9\n', 'latin1'));
    assert.deepEqual(await loadError(path), [`${path}: is not UTF-8 text`]);
  });

  it('refuses a file over the size limit', async () => {
    const path = join(dir, 'huge.yaml');
    await writeFile(path, `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    assert.deepEqual(await loadError(path), [`${path}: is larger than 5 MB; is this the right file?`]);
  });

  it('accepts a UTF-8 byte order mark', async () => {
    const path = join(dir, 'bom.yaml');
    await writeFile(path, `\ufeff${yaml('targets:', '  - name: db', '    type: icmp', '    host: 127.0.0.1')}`);
    assert.equal((await loadConfig(path, {})).targets[0]?.name, 'db');
  });
});
