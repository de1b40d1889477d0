/**
 * The fast path (js-yaml, no positions) and the positioned `yaml` path must agree: the same
 * Config for every file the fast path accepts, and the fast path must step aside for every file
 * that has a problem or that js-yaml could read differently, so the positioned path reports it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { ConfigError } from '../../src/config/errors.js';
import { parseValidConfig } from '../../src/config/fast-load.js';
import { readPlainYaml } from '../../src/config/fast-yaml.js';
import { parseConfig, parseConfigWithPositions } from '../../src/config/load.js';
import { DEFAULTS_INHERITANCE, yaml } from './fixtures.js';

const EXAMPLE = readFileSync(join(import.meta.dirname, '../../rules.example.yaml'), 'utf8');

/** Both paths give the same Config, and the fast path did accept it (or the check proves nothing). */
function assertSameConfig(text: string, env: NodeJS.ProcessEnv = {}): void {
  const fast = parseValidConfig(text, env);
  assert.ok(fast, 'the fast path refused a valid config');
  assert.deepStrictEqual(fast, parseConfigWithPositions(text, 'rules.yaml', env));
}

/** The fast path refuses it, and parseConfig reports exactly what the positioned path does. */
function assertRefused(text: string, env: NodeJS.ProcessEnv = {}): void {
  assert.equal(parseValidConfig(text, env), undefined, 'the fast path accepted it');
  const lines = (parse: () => unknown): string[] | 'accepted' => {
    try {
      parse();
      return 'accepted';
    } catch (error) {
      assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
      return error.lines;
    }
  };
  assert.deepEqual(lines(() => parseConfig(text, 'rules.yaml', env)), lines(() => parseConfigWithPositions(text, 'rules.yaml', env)));
}

const tcp = (name: string, extra: string[] = []) => [`  - name: ${name}`, '    type: tcp', '    host: 127.0.0.1', '    port: 5432', ...extra];

describe('valid files give the same Config on both paths', () => {
  it('rules.example.yaml', () => {
    assertSameConfig(EXAMPLE);
  });

  it('${VAR} values, defaults, and whole values read as numbers and booleans', () => {
    const http = (...extra: string[]) => yaml('targets:', '  - name: api', '    type: http', '    url: ${API_URL:-http://127.0.0.1:8080/health}', ...extra);
    const headers = http('    headers:', '      Authorization: Bearer ${API_TOKEN}');
    assertSameConfig(headers, { API_TOKEN: 's3cret' });
    assertSameConfig(headers, { API_TOKEN: 's3cret', API_URL: '' });
    assertSameConfig(headers, { API_TOKEN: 's3cret', API_URL: 'https://127.0.0.2/ready' });
    assertSameConfig(http('    body: \'{"user": "$${USER}", "home": "${HOME_DIR}"}\''), { HOME_DIR: '/home/ops', USER: 'root' });
    assertSameConfig(http('    body: ${PAYLOAD}'), { PAYLOAD: 'a: 1\nport: [2]\n- x' });
    assertSameConfig(http('    insecure: ${INSECURE}'), { INSECURE: 'true' });
    const db = yaml(
      'targets:',
      '  - name: db',
      '    type: tcp',
      '    host: ${DB_HOST:-127.0.0.1}',
      '    port: ${DB_PORT}',
      '    failureThreshold: ${THRESHOLD:-5}',
      '    labels:',
      '      tenant: ${DB_PORT}',
      '    dependsOn: ["${GATEWAY}"]',
      '  - { name: gw, type: icmp, host: 127.0.0.1 }',
    );
    for (const port of ['5432', '0x1538', ' 5432', '5432 # a comment']) assertSameConfig(db, { DB_PORT: port, GATEWAY: 'gw' });
  });

  it('defaults inheritance, a minimal file, flow style and a byte order mark', () => {
    assertSameConfig(DEFAULTS_INHERITANCE);
    assertSameConfig(yaml('targets:', ...tcp('db')));
    assertSameConfig('server: { host: 127.0.0.1, port: 0 }\nstate: { dir: "/tmp/x" }\ndefaults: { interval: 10s, timeout: 1s }\ntargets:\n  - { name: db, type: tcp, host: 127.0.0.1, port: 9 }\n');
    assertSameConfig(`\ufeff${yaml('targets:', '  - name: db', '    type: icmp', '    host: 127.0.0.1')}`);
    assertSameConfig(yaml('---', 'targets: []', '...'));
  });

  it('schedule time zones, and the ones refused', () => {
    assertSameConfig(yaml('defaults:', '  schedule: "0 9 * * *"', '  timezone: Europe/Paris', 'targets:', ...tcp('db'), ...tcp('web', ['    timezone: UTC'])));
    assertRefused(yaml('defaults:', '  schedule: "0 9 * * *"', '  timezone: Europe/Pariss', 'targets:', ...tcp('db')));
    assertRefused(yaml('targets:', ...tcp('db', ['    timezone: UTC'])));
  });

  it('every kind of string: quoted, escaped, block, folded, multi-line plain', () => {
    assertSameConfig(
      yaml(
        'targets:',
        '  - name: web',
        '    type: http',
        "    url: 'http://127.0.0.1:8080/it''s'",
        '    description: "tab\\there \\u00e9 \\x41 \\N \\_ \\/ line\\',
        '      continued"',
        '    body: |',
        '      {"a": 1}',
        '        indented',
        '',
        '      after a blank line',
        '    headers:',
        '      X-Folded: >-',
        '        one',
        '        two',
        '',
        '        three',
        '      X-Keep: |+',
        '        kept',
        '',
        '      X-Plain: a plain',
        '        value#over',
        '        three lines',
        '      "X-Quoted-Key": yes',
        '      X-Hash: value#not-comment # a comment',
        '      X-Colon: "a: b"',
        '      X-Empty: ""',
        '    expect:',
        '      bodyContains: "ok"',
        '      status: [200, 0x12C, 0o620]',
        '      bodyNotContains: Maintenance',
        '      headers: { Content-Type: ^application/json, x-ready: "yes|true" }',
        '      json:',
        '        status: UP',
        '        checks[0].ok: true',
        '        version: 3',
        '        gone: ~',
        '        "[0]": ""',
      ),
    );
  });

  it('a generated 1,000-target file of every target and notifier type', () => {
    assertSameConfig(generatedConfig(1_000));
  });
});

describe('the fast path steps aside, and the positioned path reports', () => {
  it('schema, ${VAR} and cross-field problems', () => {
    assertRefused(yaml('targets:', '  - name: db', '    type: tcp', '    host: 127.0.0.1', '    port: 70000'));
    assertRefused(yaml('targets:', '  - name: db', '    type: tcp', '    host: 127.0.0.1', '    port: ${DB_PORT}'));
    assertRefused(yaml('targets:', '  - name: db', '    type: tcp', '    host: 127.0.0.1', '    port: ${DB_PORT}'), { DB_PORT: 'postgres' });
    assertRefused(yaml('targets:', ...tcp('db'), ...tcp('db')));
    assertRefused(yaml('targets:', ...tcp('db', ['    dependsOn: [gw]'])));
    assertRefused(yaml('targets:', '  - name: web', '    type: http', '    url: http://127.0.0.1/', '    followRedirects: yes'));
  });

  it('what js-yaml reads differently or must not guess at', () => {
    const refused = [
      'targets: []\n---\ntargets: []\n', // two documents
      '', // empty
      '# only a comment\n',
      '- a list\n',
      'just text\n',
      '%YAML 1.1\n---\ntargets: []\n', // 1.1 would read `yes` as true
      'targets: !!seq []\n',
      'state: { dir: !env HOME }\ntargets: []\n',
      'state: { dir: ! /tmp }\ntargets: []\n',
      'defaults: &d { interval: 10s }\ntargets: []\n',
      'defaults: &d { interval: 10s }\nstate: *d\ntargets: []\n',
      'targets: []\ntargets: []\n', // duplicate key
      'targets: []\n1: one\n', // keys that are not strings
      'targets: []\n~: nothing\n',
      'targets: []\ntrue: yes\n',
      'targets: []\n[a]: b\n',
      'targets: []\nlabels: {[a], b}\n', // keys without a value in a flow mapping
      'targets: []\nlabels: {~, b}\n',
      'targets: []\nlabels: {: b}\n', // an empty key
      'targets: []\nlabels: [[a]: b]\n',
      'targets: []\n? a\n: b\n', // explicit keys
      'targets: []\n? [a]\n: b\n',
      'targets: []\nlabels: !!map { a: b }\n',
      'state: { flushInterval: !!int 5 }\ntargets: []\n',
      'state: { flushInterval: !<tag:yaml.org,2002:int> 5 }\ntargets: []\n', // a verbatim tag
      'targets: [\n', // syntax error
      'targets:\n\t- x\n',
      'targets: []\n\rstate: {}\n', // a lone carriage return is a line break to js-yaml only
      `targets: []\n${'k'.repeat(1100)}: v\n`, // a key over 1024 characters is an error to yaml only
    ];
    for (const text of refused) {
      assert.equal(readPlainYaml(text) !== undefined && parseValidConfig(text, {}) !== undefined, false, `accepted ${JSON.stringify(text)}`);
      assertRefused(text);
    }
  });
});

describe('whatever js-yaml accepts, `yaml` reads the same', () => {
  it('keys js-yaml would turn into strings its own way are refused as it reads them', () => {
    // `yaml` reads these keys as "[ a ]", "" and "{ a: 1 }"; js-yaml as "a", "null" and "[object Object]".
    for (const text of ['m: {[a], b}\n', 'm: {~, b}\n', 'm: {: b}\n', 'm: [[a]: b]\n', '? [a]\n: b\n', '?\n: b\n', '{a: 1}: 2\n', 'm: {{a: 1}}\n', 'm: {1: a}\n']) {
      assert.equal(readPlainYaml(text), undefined, `accepted ${JSON.stringify(text)}`);
    }
  });

  it('2,000 random edits of valid files (seeded, so a failure repeats)', () => {
    const seeds = [
      EXAMPLE.slice(0, EXAMPLE.indexOf('\n', 1500)),
      yaml('targets:', '  - name: db', '    type: tcp', '    host: 127.0.0.1 # a comment', '    labels: { team: a, env: "prod" }', '    body: |2', '       x', '      y'),
      yaml('a:', '  b: >-', '    one', '', '    two', '  c: "multi', '    line \\', '  esc"', '  d: [1, "2", \'3\', {e: f}, [g]]', '? h', ': - i', '  - j'),
      'targets:\r\n  - { name: db, type: icmp, host: ::1 }\r\n...\r\n',
    ];
    const pieces = [' ', '\n', '\t', ':', '-', '#', '"', "'", '[', ']', '{', '}', ',', '?', '|', '>', '!', '&', '*', '%', '\\', '.', '  ', '\n  ', ': ', '---', '...', '\r', '\r\n', '\u00a0', '\ufeff', '\u2028', '\u0085', '~', '<<', '|2', '>-', '\u0007'];
    let state = 20261125;
    const random = (below: number) => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state % below;
    };
    let accepted = 0;
    for (let i = 0; i < 2_000; i++) {
      let text = seeds[random(seeds.length)]!;
      for (let edit = 0; edit <= random(3); edit++) {
        const at = random(text.length);
        const kind = random(3);
        if (kind === 0) text = text.slice(0, at) + pieces[random(pieces.length)]! + text.slice(at);
        else if (kind === 1) text = text.slice(0, at) + text.slice(at + 1 + random(3));
        else text = text.slice(0, at) + text.slice(random(text.length)).slice(0, 5) + text.slice(at);
      }
      const fast = readPlainYaml(text);
      if (!fast) continue;
      accepted++;
      const doc = parseDocument(text, { uniqueKeys: true });
      assert.deepEqual([...doc.errors, ...doc.warnings].map((problem) => problem.code), [], `yaml refuses ${JSON.stringify(text)}`);
      assert.deepStrictEqual(fast.data, doc.toJS(), `${JSON.stringify(text)} read differently`);
    }
    assert.ok(accepted > 300, `only ${accepted} edits were valid YAML: the check proves little`);
  });
});

describe('plain scalars read as `yaml` reads them (YAML 1.2 core schema)', () => {
  const scalars = [
    'yes', 'no', 'on', 'off', 'y', 'n', 'true', 'True', 'TRUE', 'tRUE', 'false', 'False', 'FALSE',
    '~', 'null', 'Null', 'NULL', 'nul', '', '0o17', '0O17', '017', '0x1F', '0X1F', '-0x1F', '0b101',
    '1_000', '+12', '-12', '0', '-0', '+0', '00012', '12345678901234567890', `9${'9'.repeat(400)}`,
    '.inf', '-.Inf', '+.INF', '.nan', '.NaN', '-.nan', 'NaN', 'Infinity', '1e3', '1E3', '1e+3',
    '1.e3', '.5e3', '-1.5', '1.', '.5', '+.5', '0.', '1e400', '-1e400', '1e', '0x', '0o8',
    '2026-01-01', '2026-01-01T00:00:00Z', '12:30:00', '1:20', '<<', '=', '.', '+', '-1-2', '0.1.2',
  ];

  it('as values, keys of a map and items of a list', () => {
    for (const scalar of scalars) {
      for (const text of [`v: ${scalar}\n`, `list: [${scalar}]\n`, `"${scalar}": ${scalar}\n`, `<<: ${scalar}\n`]) {
        const fast = readPlainYaml(text);
        assert.ok(fast, `js-yaml refused ${JSON.stringify(text)}`);
        const doc = parseDocument(text, { uniqueKeys: true });
        assert.deepEqual([...doc.errors, ...doc.warnings], [], text);
        assert.deepStrictEqual(fast.data, doc.toJS(), `${JSON.stringify(text)} read differently`);
      }
    }
  });

  it('keeps __proto__ as an ordinary key, as `yaml` does', () => {
    const text = '__proto__: { polluted: true }\nlabels: { __proto__: x }\n';
    const fast = readPlainYaml(text)?.data as Record<string, unknown>;
    assert.deepStrictEqual(fast, parseDocument(text).toJS());
    assert.equal(Object.getPrototypeOf(fast), Object.prototype);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });
});

/** http, tcp, icmp, dns and tls targets with labels, notify lists, dependencies and every notifier type. */
function generatedConfig(count: number): string {
  const lines = [
    'server: { host: 127.0.0.1, port: 0 }',
    'state:',
    '  dir: ./state',
    '  flushInterval: 2s',
    'maxConcurrentProbes: 64',
    'defaults:',
    '  interval: 30s',
    '  timeout: 3s',
    '  flap: { window: 10, high: 40, low: 20 }',
    'notifiers:',
    '  ops: { type: webhook, url: "http://127.0.0.1:9/hook", secret: "whsec_c2VjcmV0", headers: { X-Team: ops } }',
    '  pager:',
    '    type: pagerduty',
    '    routingKey: ${PD_KEY:-abc123}',
    '    severity: error',
    '  chat: { type: slack, channel: C0123ABCD, mention: "<!subteam^S1>" }',
    'slack:',
    '  botToken: xoxb-1',
    '  signingSecret: s',
    '  allow: { users: [U1], channels: [C1] }',
    '  adhoc: { allow: [127.0.0.0/8], ports: [80, 443] }',
    'delivery: { groupWait: 0s, resolveRemoved: false }',
    'routes:',
    '  - match: { team: team-1 }',
    '    notify: [pager]',
    'maintenance:',
    '  - name: nightly',
    '    schedule: "0 3 * * *"',
    '    duration: 30m',
    '    match: { env: staging }',
    'targets:',
  ];
  for (let i = 0; i < count; i++) {
    const name = `svc-${String(i).padStart(5, '0')}`;
    lines.push(`  - name: ${i % 2 === 0 ? name : `"${name}"`}`, `    labels: { team: team-${i % 20}, env: ${i % 3 === 0 ? 'prod' : 'staging'} }`);
    if (i > 0 && i % 10 === 0) lines.push(`    dependsOn: [svc-${String(i - 1).padStart(5, '0')}]`);
    switch (i % 5) {
      case 0:
        lines.push('    type: http', `    url: http://127.0.0.1:8080/health/${i}`, '    expect:', '      status: [200, 204]', '      maxLatency: 500ms');
        break;
      case 1:
        lines.push('    type: tcp', `    host: 127.0.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`, '    port: 5432', '    notify: [log, ops]');
        break;
      case 2:
        lines.push('    type: icmp', '    host: ::1', '    failureThreshold: 5', '    schedule: "*/5 * * * *"');
        break;
      case 3:
        lines.push('    type: dns', `    query: host-${i}.example.`, '    recordType: AAAA', '    server: 127.0.0.1:53', '    expect: { minAnswers: 0 }');
        break;
      default:
        lines.push('    type: tls', '    host: 127.0.0.1', `    port: ${8000 + (i % 1000)}`, '    expect: { certValidFor: 7d }', '    notify: [chat, pager]');
    }
  }
  return yaml(...lines);
}
