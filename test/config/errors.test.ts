/**
 * Every kind of config mistake gives one exact line: file:line:col, the path, a short message.
 * The YAML is written line by line so the expected positions can be read off the array.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, formatPath } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import { selfSignedCertificate } from '../fakes/certs.js';

function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

/** The error lines parseConfig reports for this text (the test fails if it accepts it). */
function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(text, 'rules.yaml', env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.message, error.lines.join('\n'));
    return error.lines;
  }
  assert.fail('the config was accepted');
}

const tcp = (name: string, extra: string[] = []) => [`  - name: ${name}`, '    type: tcp', '    host: 127.0.0.1', '    port: 5432', ...extra];

describe('schema errors', () => {
  it('names an unknown key at the key, suggesting the close known key', () => {
    const text = yaml('defaults:', '  failureTreshold: 3', '  colour: red', 'targets: []');
    assert.deepEqual(problems(text), [
      'rules.yaml:2:3 defaults: unknown key "failureTreshold" (did you mean "failureThreshold"?)',
      'rules.yaml:3:3 defaults: unknown key "colour"',
    ]);
  });

  it('suggests keys of the target type actually written', () => {
    const text = yaml('targets:', '  - name: db', '    type: tcp', '    host: 127.0.0.1', '    prot: 5432');
    assert.deepEqual(problems(text), [
      'rules.yaml:2:5 targets[0].port: is required',
      'rules.yaml:5:5 targets[0]: unknown key "prot" (did you mean "port"?)',
    ]);
  });

  it('says which type a value must have, at the value', () => {
    const text = yaml('targets:', '  - name: web', '    type: http', '    url: http://127.0.0.1:8080/health', '    followRedirects: yes');
    assert.deepEqual(problems(text), ['rules.yaml:5:22 targets[0].followRedirects: must be true or false']);
  });

  it('points at the key of a value left empty', () => {
    const text = yaml('targets:', '  - name: db', '    type: tcp', '    host: 127.0.0.1', '    port:');
    assert.deepEqual(problems(text), ['rules.yaml:5:5 targets[0].port: is empty (must be an integer 1-65535)']);
  });

  it('points out a number written as a quoted string', () => {
    const text = yaml('targets:', '  - name: web', '    type: http', '    url: http://127.0.0.1/', '    expect:', '      status: ["200"]');
    assert.deepEqual(problems(text), ['rules.yaml:6:16 targets[0].expect.status[0]: must be a number (found the string "200"; remove the quotes)']);
  });

  it('names a bad JSON path, header name or expected value in an http expect', () => {
    const text = yaml(
      'targets:', '  - name: web', '    type: http', '    url: http://127.0.0.1/', '    expect:',
      '      json:', '        "data..state": UP', '        checks: { ok: true }',
      '      headers:', '        "Content Type": json', '        x-ready: "(yes"',
    );
    assert.deepEqual(problems(text), [
      'rules.yaml:7:9 targets[0].expect.json: key "data..state" is not allowed: must be a path like status, data.items[0].state or [0].id',
      'rules.yaml:8:17 targets[0].expect.json.checks: must be a string, number, boolean or null',
      'rules.yaml:10:9 targets[0].expect.headers: key "Content Type" is not allowed: must be an HTTP header name',
      'rules.yaml:11:18 targets[0].expect.headers.x-ready: must be a valid regular expression',
    ]);
  });

  it('refuses a tcp reply limit without the pattern it limits, and a limit below 1', () => {
    assert.deepEqual(problems(yaml('targets:', ...tcp('smtp', ['    expect:', '      maxBytes: 100']))), [
      'rules.yaml:7:17 targets[0].expect.maxBytes: limits the reply read for replyRegex, which is not set',
    ]);
    assert.deepEqual(problems(yaml('targets:', ...tcp('smtp', ['    expect:', '      replyRegex: ^220', '      maxBytes: 0']))), [
      'rules.yaml:8:17 targets[0].expect.maxBytes: must be at least 1',
    ]);
  });

  it('reports a missing required field on the mapping that lacks it', () => {
    const text = yaml('notifiers:', '  pd:', '    type: pagerduty', 'targets: []');
    assert.deepEqual(problems(text), ['rules.yaml:3:5 notifiers.pd.routingKey: is required']);
  });

  it('rejects a duration without a unit', () => {
    const text = yaml('defaults:', '  interval: 10 seconds', 'targets: []');
    assert.deepEqual(problems(text), ['rules.yaml:2:13 defaults.interval: must be a duration like 500ms, 10s, 5m or 1h30m']);
  });

  it('rejects a port out of range', () => {
    const text = yaml('targets:', ...tcp('a'), ...tcp('b'), '  - name: c', '    type: tcp', '    host: 127.0.0.1', '    port: 70000');
    assert.deepEqual(problems(text), ['rules.yaml:13:11 targets[2].port: must be an integer 1-65535']);
  });

  it('rejects an unknown target type, listing the known ones', () => {
    const text = yaml('targets:', '  - name: files', '    type: ftp', '    host: 127.0.0.1');
    assert.deepEqual(problems(text), ['rules.yaml:3:11 targets[0].type: must be one of http, tcp, icmp, dns, tls']);
  });

  it('asks for a missing target type', () => {
    const text = yaml('targets:', '  - name: files', '    host: 127.0.0.1');
    assert.deepEqual(problems(text), ['rules.yaml:2:5 targets[0].type: is required: one of http, tcp, icmp, dns, tls']);
  });

  it('rejects flap.low above flap.high, counting the default high', () => {
    const text = yaml('defaults:', '  flap:', '    low: 40', 'targets: []');
    assert.deepEqual(problems(text), ['rules.yaml:3:10 defaults.flap.low: must not be above high (40 > 30)']);
  });

  it('rejects a server port out of range', () => {
    const text = yaml('server:', '  port: 65536', 'targets: []');
    assert.deepEqual(problems(text), ['rules.yaml:2:9 server.port: must be an integer 0-65535']);
  });

  it('rejects a notifier name that is not a plain name, at the key', () => {
    const text = yaml('notifiers:', '  Ops Team:', '    type: log', 'targets: []');
    assert.deepEqual(problems(text), ['rules.yaml:2:3 notifiers: key "Ops Team" is not allowed: notifier names must match [a-z0-9._-]+']);
  });
});

describe('cross-field errors', () => {
  it('points at the second of two targets with the same name', () => {
    const text = yaml('targets:', ...tcp('db'), ...tcp('db'));
    assert.deepEqual(problems(text), ['rules.yaml:6:11 targets[1].name: duplicate target name "db" (first used by targets[0])']);
  });

  it('rejects a notify entry naming no notifier, wherever it is', () => {
    const text = yaml(
      'notifiers:',
      '  pagerduty: { type: pagerduty, routingKey: k }',
      'defaults:',
      '  notify: [pagerdty]',
      'routes:',
      '  - match: { team: db }',
      '    notify: [log, nobody]',
      'targets:',
      ...tcp('db', ['    notify: [log, pager-duty]']),
    );
    assert.deepEqual(problems(text), [
      'rules.yaml:4:12 defaults.notify[0]: unknown notifier "pagerdty" (did you mean "pagerduty"?)',
      'rules.yaml:7:19 routes[0].notify[1]: unknown notifier "nobody" (defined: log, pagerduty)',
      'rules.yaml:13:19 targets[0].notify[1]: unknown notifier "pager-duty" (did you mean "pagerduty"?)',
    ]);
  });

  it('rejects dependsOn naming an unknown target or the target itself', () => {
    const text = yaml('targets:', ...tcp('gateway'), ...tcp('db', ['    dependsOn: [gatway, db]']));
    assert.deepEqual(problems(text), [
      'rules.yaml:10:17 targets[1].dependsOn[0]: unknown target "gatway" (did you mean "gateway"?)',
      'rules.yaml:10:25 targets[1].dependsOn[1]: a target cannot depend on itself',
    ]);
  });

  it('names a dependsOn cycle once, from the target that closes it', () => {
    const text = yaml('targets:', ...tcp('a', ['    dependsOn: [b]']), ...tcp('b', ['    dependsOn: [c]']), ...tcp('c', ['    dependsOn: [a]']));
    assert.deepEqual(problems(text), ['rules.yaml:16:17 targets[2].dependsOn[0]: dependency cycle: c -> a -> b -> c']);
  });

  it('rejects interval and schedule together, on a target or in defaults', () => {
    const text = yaml('defaults:', '  interval: 10s', '  schedule: "* * * * *"', 'targets:', ...tcp('db', ['    interval: 5s', '    schedule: "*/5 * * * *"']));
    assert.deepEqual(problems(text), [
      'rules.yaml:3:13 defaults.schedule: set either interval or schedule, not both',
      'rules.yaml:10:15 targets[0].schedule: set either interval or schedule, not both',
    ]);
  });

  it('rejects cron expressions croner does not accept, with what to write for 0/10', () => {
    const text = yaml(
      'targets:',
      ...tcp('db', ['    schedule: "0/10 * * * *"']),
      'maintenance:',
      '  - name: nightly',
      '    schedule: "every night"',
      '    duration: 1h',
    );
    assert.deepEqual(problems(text), [
      'rules.yaml:6:15 targets[0].schedule: invalid cron expression "0/10 * * * *": write 0-59/10 or */10 instead of 0/10 (croner needs a range or * before a step)',
      "rules.yaml:9:15 maintenance[0].schedule: invalid cron expression \"every night\": invalid configuration format ('every night'), exactly five, six, or seven space separated parts are required.",
    ]);
  });

  it('rejects an unknown time zone, and a zone on a target that has no schedule', () => {
    const text = yaml(
      'defaults:',
      '  timezone: Europe/Pariss',
      'targets:',
      ...tcp('db', ['    interval: 30s', '    timezone: UTC']),
      'maintenance:',
      '  - name: nightly',
      '    schedule: "0 2 * * *"',
      '    timezone: Mars/Olympus',
      '    duration: 1h',
    );
    assert.deepEqual(problems(text), [
      'rules.yaml:2:13 defaults.timezone: unknown time zone "Europe/Pariss": use an IANA name such as "Europe/Paris" or "UTC"',
      'rules.yaml:9:15 targets[0].timezone: a time zone applies to a schedule, and this target has none (it runs on interval)',
      'rules.yaml:13:15 maintenance[0].timezone: unknown time zone "Mars/Olympus": use an IANA name such as "Europe/Paris" or "UTC"',
    ]);
  });

  it('rejects a maintenance window naming an unknown target', () => {
    const text = yaml('targets:', ...tcp('db'), 'maintenance:', '  - name: backup', '    schedule: "0 3 * * *"', '    duration: 30m', '    targets: [db, dbb]');
    assert.deepEqual(problems(text), ['rules.yaml:10:19 maintenance[0].targets[1]: unknown target "dbb" (did you mean "db"?)']);
  });

  it('rejects a webhook template that cannot produce JSON, and keeps one that can', () => {
    const hook = (template: string) => yaml('notifiers:', '  teams:', '    type: webhook', '    url: http://127.0.0.1:9/hook', `    template: '${template}'`, 'targets: []');
    const lines = problems(hook('{"text": {{summary}}}'));
    assert.equal(lines.length, 1);
    // The JSON parser's own words in the middle vary between Node versions.
    assert.match(lines[0]!, /^rules\.yaml:5:15 notifiers\.teams\.template: template does not produce JSON \(.+\); check its quotes and commas$/);
    assert.doesNotThrow(() => parseConfig(hook('{"text": "{{text}}", "ms": {{result.latencyMs}}}'), 'rules.yaml', {}));
  });

  it('rejects a slack notifier when there is no slack section', () => {
    const text = yaml('notifiers:', '  ops:', '    type: slack', '    channel: C0123ABCD', 'targets: []');
    assert.deepEqual(problems(text), ['rules.yaml:3:11 notifiers.ops.type: a slack notifier needs a top-level "slack:" section with botToken']);
  });
});

describe('TLS file errors', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'probebot-config-tls-'));
    const certificate = await selfSignedCertificate(30);
    await Promise.all([writeFile(join(dir, 'cert.pem'), certificate.cert), writeFile(join(dir, 'key.pem'), certificate.key), writeFile(join(dir, 'junk.pem'), 'junk\n')]);
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const https = (name: string, extra: string[]) => [`  - name: ${name}`, '    type: http', '    url: https://127.0.0.1/', ...extra];

  it('names the file that cannot be read or holds the wrong thing, and a certificate without its key', () => {
    const text = yaml(
      'targets:',
      ...https('a', [`    caFile: ${dir}/missing.pem`]),
      ...https('b', [`    caFile: ${dir}/junk.pem`]),
      ...https('c', [`    certFile: ${dir}/cert.pem`]),
      ...https('d', [`    certFile: ${dir}/cert.pem`, `    keyFile: ${dir}/cert.pem`]),
      ...https('e', [`    caFile: ${dir}/cert.pem`, `    certFile: ${dir}/cert.pem`, `    keyFile: ${dir}/key.pem`]),
    );
    assert.deepEqual(problems(text), [
      `rules.yaml:5:13 targets[0].caFile: ${dir}/missing.pem cannot be read (ENOENT)`,
      `rules.yaml:9:13 targets[1].caFile: ${dir}/junk.pem holds no PEM certificate`,
      'rules.yaml:13:15 targets[2].certFile: needs keyFile too: a client certificate is sent with its private key',
      `rules.yaml:18:14 targets[3].keyFile: ${dir}/cert.pem holds no PEM private key without a passphrase`,
    ]);
  });
});

describe('environment variables', () => {
  it('names an unset variable at its ${ inside the string', () => {
    const text = yaml(
      'targets:',
      '  - name: api',
      '    type: http',
      '    url: http://127.0.0.1:8080/',
      '    headers:',
      '      X-Request-Source: probebot',
      '      Accept: application/json',
      '      User-Agent: probebot/1',
      '      Authorization: "Bearer ${API_TOKEN}"',
    );
    assert.deepEqual(problems(text), ['rules.yaml:9:30 targets[0].headers.Authorization: environment variable API_TOKEN is not set']);
  });

  it('reports an unset variable once, not again as a wrong type', () => {
    const text = yaml('targets:', '  - name: db', '    type: tcp', '    host: 127.0.0.1', '    port: ${DB_PORT}');
    assert.deepEqual(problems(text), ['rules.yaml:5:11 targets[0].port: environment variable DB_PORT is not set']);
  });

  it('rejects a malformed reference and says how to write a literal ${', () => {
    const text = yaml('targets:', '  - name: db', '    type: icmp', '    host: ${db host}');
    assert.deepEqual(problems(text), ['rules.yaml:4:11 targets[0].host: "${db host}" is not a variable reference like ${NAME} or ${NAME:-default}; write $${ for a literal ${']);
  });
});

describe('YAML and file-level errors', () => {
  it('reports a tab used for indentation as a YAML syntax error with its position', () => {
    const text = yaml('targets:', '  - name: db', '\ttype: tcp');
    assert.deepEqual(problems(text), ['rules.yaml:3:1: YAML syntax error: Tabs are not allowed as indentation']);
  });

  it('reports a line indented too far, with a hint', () => {
    const text = yaml('defaults:', '  interval: 10s', '   timeout: 2s');
    assert.deepEqual(problems(text), [
      'rules.yaml:2:13: YAML syntax error: Nested mappings are not allowed in compact mappings (check the indentation here and on the lines around it)',
    ]);
  });

  it('reports an unclosed quote', () => {
    const text = yaml('targets:', '  - name: "db', '    type: tcp');
    assert.deepEqual(problems(text), ['rules.yaml:4:1: YAML syntax error: Missing closing "quote']);
  });

  it('rejects a key written twice in one mapping', () => {
    const text = yaml('defaults:', '  interval: 10s', '  timeout: 2s', '  interval: 20s', 'targets: []');
    assert.deepEqual(problems(text), ['rules.yaml:4:3: duplicate key "interval"']);
  });

  it('rejects an unknown YAML tag rather than reading it as text', () => {
    const text = yaml('targets:', '  - name: db', '    type: icmp', '    host: !env DB_HOST');
    assert.deepEqual(problems(text), ['rules.yaml:4:11: unknown YAML tag: !env (environment variables are written ${NAME})']);
  });

  it('rejects a top level that is not a mapping', () => {
    assert.deepEqual(problems(yaml('- name: db', '  type: tcp')), [
      'rules.yaml:1:1: the top level must be a mapping of settings (targets:, notifiers:, …), not a list',
    ]);
  });

  it('rejects an empty file, and one with only comments', () => {
    assert.deepEqual(problems(''), ['rules.yaml: is empty; it needs at least a "targets:" list']);
    assert.deepEqual(problems(yaml('# nothing yet')), ['rules.yaml: is empty; it needs at least a "targets:" list']);
  });
});

describe('reporting', () => {
  it('renders paths the way they are written in YAML, quoting keys that are not plain names', () => {
    assert.equal(formatPath(['targets', 2, 'expect', 'status', 0]), 'targets[2].expect.status[0]');
    assert.equal(formatPath(['notifiers', 'pd', 'routingKey']), 'notifiers.pd.routingKey');
    assert.equal(formatPath(['targets', 0, 'headers', 'X-Request-Id']), 'targets[0].headers.X-Request-Id');
    assert.equal(formatPath(['notifiers', 'pd.v2', 'url']), 'notifiers["pd.v2"].url');
    assert.equal(formatPath(['targets', 0, 'labels', 'app.kubernetes.io/name']), 'targets[0].labels["app.kubernetes.io/name"]');
  });

  it('reports every problem at once, in file order, schema and cross-field mixed', () => {
    const text = yaml(
      'defaults:', //                                    1
      '  notify: [ops]', //                              2  unknown notifier
      'targets:', //                                     3
      '  - name: web', //                                4
      '    type: http', //                               5
      '    url: ftp://127.0.0.1/', //                    6  not http(s)
      '    timeout: fast', //                            7  bad duration
      '  - name: web', //                                8  duplicate
      '    type: tcp', //                                9
      '    host: 127.0.0.1', //                          10
      '    port: 0', //                                  11 out of range
      '    dependsOn: [cache]', //                       12 unknown target
      '    token: ${TOKEN}', //                          13 unknown key, unset variable
    );
    assert.deepEqual(problems(text), [
      'rules.yaml:2:12 defaults.notify[0]: unknown notifier "ops" (defined: log)',
      'rules.yaml:6:10 targets[0].url: must be an http:// or https:// URL',
      'rules.yaml:7:14 targets[0].timeout: must be a duration like 500ms, 10s, 5m or 1h30m',
      'rules.yaml:8:11 targets[1].name: duplicate target name "web" (first used by targets[0])',
      'rules.yaml:11:11 targets[1].port: must be an integer 1-65535',
      'rules.yaml:12:17 targets[1].dependsOn[0]: unknown target "cache"',
      'rules.yaml:13:5 targets[1]: unknown key "token"',
      'rules.yaml:13:12 targets[1].token: environment variable TOKEN is not set',
    ]);
  });
});
