/**
 * Startup loads only what the command and the config use: `probebot check` on a valid file loads
 * no HTTP or Slack client, no metrics, no pretty logger and not even the `yaml` library; `run`
 * loads undici only for HTTP, and the Slack client only for Slack. These packages are CommonJS,
 * so every file of them that a process loads is in require.cache, which a preload writes out at
 * exit; each absence is paired with a run that does load the package, so the listing is proven.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';

const CLI = join(import.meta.dirname, '../src/cli.ts');
const TSX = import.meta.resolve('tsx');
const dir = mkdtempSync(join(tmpdir(), 'probebot-modules-'));
const PRELOAD = join(dir, 'list-modules.mjs');
writeFileSync(
  PRELOAD,
  [
    "import { createRequire } from 'node:module';",
    "import { writeFileSync } from 'node:fs';",
    'const cache = createRequire(import.meta.url).cache;',
    "process.on('exit', () => writeFileSync(process.env.MODULE_LIST, Object.keys(cache).join('\\n')));",
  ].join('\n'),
);
const HEAVY = ['undici', '@slack/bolt', '@slack/web-api', 'pino-pretty', 'prom-client', 'yaml'] as const;

let listener: Server;
let port = 0;
before(async () => {
  listener = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  port = (listener.address() as AddressInfo).port;
});
after(() => {
  listener.close();
  rmSync(dir, { recursive: true, force: true });
});

let runs = 0;

/**
 * Runs the CLI and returns the packages (of HEAVY) it loaded. A `run` is stopped with SIGTERM once
 * its first probe is logged (by then it listens for SIGTERM; right at "probebot started" it may
 * not yet, and the signal's default action would end it before the list is written); everything
 * is killed after 20 s at most.
 */
function packagesLoaded(args: string[], config: string): Promise<{ code: number | null; loaded: string[]; output: string }> {
  const id = ++runs;
  const configPath = join(dir, `rules-${id}.yaml`);
  const listPath = join(dir, `modules-${id}.txt`);
  writeFileSync(configPath, config);
  return new Promise((resolve) => {
    const logLevel = args[0] === 'run' ? ['--log-level', 'debug'] : [];
    const child = spawn(process.execPath, ['--import', TSX, '--import', pathToFileURL(PRELOAD).href, CLI, ...args, ...logLevel, '-c', configPath], {
      cwd: dir,
      env: { ...process.env, MODULE_LIST: listPath },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let stopping = false;
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (args[0] === 'run' && !stopping && /"msg":"probe (ok|failed)"/.test(output)) stopping = child.kill('SIGTERM');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('close', (code) => {
      clearTimeout(killer);
      const files = readFileSync(listPath, 'utf8').split('\n');
      const loaded = HEAVY.filter((name) => files.some((file) => file.includes(`${join('node_modules', name)}/`)));
      resolve({ code, loaded, output });
    });
  });
}

const tcpTarget = () => `  - { name: db, type: tcp, host: 127.0.0.1, port: ${port} }\n`;
const bot = (rest: string) =>
  `server: { host: 127.0.0.1, port: 0 }\nstate: { dir: ${JSON.stringify(join(dir, `state-${runs}`))} }\ndefaults: { interval: 1s }\n${rest}`;

test('check on a valid file loads none of the heavy packages; on a broken one, only yaml for the error lines', async () => {
  const valid = `notifiers:\n  ops: { type: webhook, url: "http://127.0.0.1:9/hook" }\ntargets:\n${tcpTarget()}  - { name: web, type: http, url: "http://127.0.0.1:${port}/" }\n`;
  const good = await packagesLoaded(['check'], valid);
  assert.equal(good.code, 0, good.output);
  assert.deepEqual(good.loaded, []);

  const broken = await packagesLoaded(['check'], 'targets:\n  - { name: db, type: tcp, host: 127.0.0.1, port: 70000 }\n');
  assert.equal(broken.code, 2, broken.output);
  assert.match(broken.output, /rules-\d+\.yaml:2:51 targets\[0\]\.port: must be an integer 1-65535/);
  assert.deepEqual(broken.loaded, ['yaml']);
});

test('run loads undici only for HTTP targets or notifiers, and the Slack client only for Slack', async () => {
  const tcpOnly = await packagesLoaded(['run'], bot(`targets:\n${tcpTarget()}`));
  assert.equal(tcpOnly.code, 0, tcpOnly.output);
  assert.deepEqual(tcpOnly.loaded, ['prom-client']);

  const http = await packagesLoaded(['run'], bot(`targets:\n  - { name: web, type: http, url: "http://127.0.0.1:${port}/" }\n`));
  assert.equal(http.code, 0, http.output);
  assert.deepEqual(http.loaded, ['undici', 'prom-client']);

  const slackNotifier = bot(
    `slack: { botToken: xoxb-test, apiUrl: "http://127.0.0.1:${port}/api/" }\nnotifiers:\n  chat: { type: slack, channel: C0123 }\ntargets:\n${tcpTarget()}`,
  );
  const slack = await packagesLoaded(['run'], slackNotifier);
  assert.equal(slack.code, 0, slack.output);
  assert.ok(slack.loaded.includes('@slack/web-api'), slack.loaded.join(', '));
  assert.ok(!slack.loaded.includes('@slack/bolt'), 'the Slack app is not configured, so bolt is not needed');
});
