import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'src/cli.ts');
// Resolved from the project, so the CLI can run with another working directory.
const TSX = import.meta.resolve('tsx');
const dir = mkdtempSync(join(tmpdir(), 'probebot-cli-'));
let listener: Server;
let openPort = 0;

before(async () => {
  listener = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  openPort = (listener.address() as AddressInfo).port;
});
after(() => {
  listener.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function probebot(
  args: string[],
  onStdout?: (text: string, child: ReturnType<typeof spawn>) => void,
  onSpawn?: (child: ReturnType<typeof spawn>) => void,
): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      onStdout?.(stdout, child);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}

function writeConfig(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

test('a bad config prints one line per problem with file:line:col and exits 2, no stack trace', async () => {
  const path = writeConfig(
    'bad.yaml',
    ['targets:', '  - name: db', '    type: tcp', '    host: 127.0.0.1', '    port: 70000', '    failureTreshold: 3', ''].join('\n'),
  );
  const { code, stderr, stdout } = await probebot(['check', '-c', path]);
  assert.equal(code, 2);
  assert.equal(stdout, '');
  const lines = stderr.trim().split('\n');
  assert.deepEqual(lines, [
    `${path}:5:11 targets[0].port: must be an integer 1-65535`,
    `${path}:6:5 targets[0]: unknown key "failureTreshold" (did you mean "failureThreshold"?)`,
  ]);
  assert.doesNotMatch(stderr, /\n\s+at /);
});

test('a missing config file is one line and exit 2; an unknown command is a usage error', async () => {
  const missing = await probebot(['run', '-c', 'nope.yaml']);
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr.trim().split('\n').length, 1);
  assert.match(missing.stderr, /nope\.yaml/);
  const unknown = await probebot(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
});

test('check prints each target with its effective settings', async () => {
  const path = writeConfig(
    'ok.yaml',
    `defaults: { interval: 15s, failureThreshold: 4 }\ntargets:\n  - { name: db, type: tcp, host: 127.0.0.1, port: ${openPort} }\n  - { name: web, type: http, url: "http://127.0.0.1:${openPort}/", interval: 1m }\n`,
  );
  const { code, stdout } = await probebot(['check', '-c', path]);
  assert.equal(code, 0);
  assert.match(stdout, new RegExp(`^db\\s+tcp\\s+127\\.0\\.0\\.1:${openPort}\\s+15s\\s+5s\\s+3s\\s+4/2`, 'm'));
  assert.match(stdout, /^web\s+http\s+\S+\s+1m\s/m);
});

test('probe exits 0 for a reachable address and 1 for a refused one, with a JSON result', async () => {
  const ok = await probebot(['probe', `127.0.0.1:${openPort}`, '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  const result = JSON.parse(ok.stdout) as { ok: boolean; type: string; latencyMs: number };
  assert.equal(result.ok, true);
  assert.equal(result.type, 'tcp');

  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const refused = await probebot(['probe', `127.0.0.1:${closedPort}`]);
  assert.equal(refused.code, 1);
  assert.match(refused.stdout, new RegExp(`^FAIL tcp 127\\.0\\.0\\.1:${closedPort}: connect ECONNREFUSED`));
});

test('schema prints the JSON Schema of the config', async () => {
  const { code, stdout } = await probebot(['schema']);
  assert.equal(code, 0);
  const schema = JSON.parse(stdout) as { properties: Record<string, unknown> };
  assert.ok(schema.properties.targets);
});

test('run serves /healthz, and SIGTERM stops it cleanly with exit 0', async () => {
  const path = writeConfig(
    'run.yaml',
    `server: { host: 127.0.0.1, port: 0 }\nstate: { dir: ${JSON.stringify(join(dir, 'state'))} }\ntargets:\n  - { name: db, type: tcp, host: 127.0.0.1, port: ${openPort} }\n`,
  );
  let health: { status: number; body: { status: string; targets: { total: number } } } | undefined;
  let asked = false;
  const run = await probebot(['run', '-c', path], (stdout, child) => {
    const started = /"port":(\d+)[^\n]*probebot started/.exec(stdout);
    if (!started || asked) return;
    asked = true;
    fetch(`http://127.0.0.1:${started[1]}/healthz`)
      .then(async (response) => {
        health = { status: response.status, body: (await response.json()) as NonNullable<typeof health>['body'] };
      })
      .finally(() => child.kill('SIGTERM'));
  });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(health?.status, 200);
  assert.equal(health?.body.status, 'ok');
  assert.equal(health?.body.targets.total, 1);
  assert.match(run.stdout, /probebot stopped/);
});

/** Opens the pipe for writing once someone reads it (a non-blocking open fails until then). */
async function openWhenRead(fifo: string): Promise<Awaited<ReturnType<typeof open>>> {
  for (let attempt = 0; attempt < 500; attempt++) {
    try {
      return await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  throw new Error(`nobody opened ${fifo} within 10 s`);
}

test('SIGTERM while the bot is still starting stops it cleanly with exit 0', async () => {
  // The config comes through a named pipe: while the bot waits to read it, it is starting.
  const fifo = join(dir, 'slow.yaml');
  execFileSync('mkfifo', [fifo]);
  const config = `server: { host: 127.0.0.1, port: 0 }\nstate: { dir: ${JSON.stringify(join(dir, 'state-early'))} }\ntargets:\n  - { name: db, type: tcp, host: 127.0.0.1, port: ${openPort} }\n`;
  let bot!: ReturnType<typeof spawn>;
  const exited = probebot(['run', '-c', fifo], undefined, (child) => (bot = child));
  const writer = await openWhenRead(fifo);
  bot.kill('SIGTERM');
  await writer.write(config);
  await writer.close();
  const run = await exited;
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '');
  assert.match(run.stdout, /stopped before starting|probebot stopped/);
});

test('SIGHUP reloads the config; a broken one is refused and the running config stays', async () => {
  const stateDir = JSON.stringify(join(dir, 'state-hup'));
  const good = (extra: string) =>
    `server: { host: 127.0.0.1, port: 0 }\nstate: { dir: ${stateDir} }\ntargets:\n  - { name: db, type: tcp, host: 127.0.0.1, port: ${openPort} }\n${extra}`;
  const path = writeConfig('hup.yaml', good(''));
  const steps: Array<[RegExp, (child: ReturnType<typeof spawn>) => void]> = [
    [/probebot started/, (child) => { writeConfig('hup.yaml', good('  - { name: web, type: tcp, port: 99999 }\n')); child.kill('SIGHUP'); }],
    [/config reload refused[^\n]*hup\.yaml:5:\d+ targets\[1\]/, (child) => { writeConfig('hup.yaml', good(`  - { name: web, type: tcp, host: 127.0.0.1, port: ${openPort} }\n`)); child.kill('SIGHUP'); }],
    [/"added":1[^\n]*config reloaded/, (child) => child.kill('SIGTERM')],
  ];
  let step = 0;
  const run = await probebot(['run', '-c', path], (stdout, child) => {
    const next = steps[step];
    if (next && next[0].test(stdout)) {
      step++;
      next[1](child);
    }
  });
  assert.equal(step, steps.length, `reached step ${step}: ${run.stdout}`);
  assert.equal(run.code, 0, run.stderr);
});

/** Exponential for a backtracking engine: 2^40 ways to split the "a"s before each one fails. */
const HOSTILE_PATTERN = '(a+)+$';
const HOSTILE_TEXT = `${'a'.repeat(40)}b`;

async function serveHostileBody(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createHttpServer((_request, response) => response.end(HOSTILE_TEXT));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

test('a body that makes a pattern backtrack exponentially fails the probe at once, not hours later', async () => {
  const target = await serveHostileBody();
  try {
    const path = writeConfig('hostile.yaml', `targets:\n  - { name: web, type: http, url: "${target.url}", expect: { bodyRegex: "${HOSTILE_PATTERN}" } }\n`);
    // Without the linear-time fallback the match runs for hours and the child is killed at 20 s.
    const run = await probebot(['probe', 'web', '-c', path]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /^FAIL web http \S+: body does not match \/\(a\+\)\+\$\//);
  } finally {
    await target.close();
  }
});

test('the running bot stays responsive while such a target is probed, and names patterns that cannot fall back', async () => {
  const target = await serveHostileBody();
  try {
    const path = writeConfig(
      'hostile-run.yaml',
      [
        'server: { host: 127.0.0.1, port: 0 }',
        `state: { dir: ${JSON.stringify(join(dir, 'state-hostile'))} }`,
        'targets:',
        `  - { name: hostile, type: http, url: "${target.url}", interval: 1s, expect: { bodyRegex: "${HOSTILE_PATTERN}" } }`,
        `  - { name: lookbehind, type: tcp, host: 127.0.0.1, port: ${openPort}, interval: 1h, send: "x", expect: { replyRegex: "(?<=a)b" } }`,
        '',
      ].join('\n'),
    );
    let asked = false;
    let answered: string | undefined;
    const run = await probebot(['run', '-c', path], (stdout, child) => {
      const started = /"port":(\d+)[^\n]*probebot started/.exec(stdout);
      if (!started || asked) return;
      asked = true;
      // /metrics answers, and shows the hostile target's probe done and failed: the match ended.
      void (async () => {
        for (let attempt = 0; attempt < 100 && answered === undefined; attempt++) {
          const metrics = await (await fetch(`http://127.0.0.1:${started[1]}/metrics`)).text();
          const line = /^probebot_probe_success\{target="hostile"[^}]*\} \d$/m.exec(metrics)?.[0];
          if (line?.endsWith(' 0')) answered = line;
          else await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })().finally(() => child.kill('SIGTERM'));
    });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(answered, run.stdout);
    const warnings = run.stdout.split('\n').filter((line) => line.includes('cannot fall back to linear-time matching'));
    assert.equal(warnings.length, 1, run.stdout);
    assert.match(warnings[0]!, /"target":"lookbehind","field":"expect\.replyRegex","pattern":"\(\?<=a\)b"/);
  } finally {
    await target.close();
  }
});

test('check names each pattern that cannot fall back to linear-time matching', async () => {
  const path = writeConfig(
    'patterns.yaml',
    [
      'targets:',
      `  - { name: api, type: http, url: "http://127.0.0.1:${openPort}/", expect: { bodyRegex: "\\"status\\":\\\\s*\\"up\\"", headers: { x-id: "^(\\\\w+)-\\\\1$" } } }`,
      `  - { name: ssh, type: tcp, host: 127.0.0.1, port: ${openPort}, expect: { replyRegex: "^SSH-2\\\\.0-" } }`,
      '',
    ].join('\n'),
  );
  const { code, stdout } = await probebot(['check', '-c', path]);
  assert.equal(code, 0);
  const notes = stdout.split('\n').filter((line) => line.startsWith('note:'));
  assert.deepEqual(notes, [
    'note: target "api" expect.headers.x-id /^(\\w+)-\\1$/ cannot fall back to linear-time matching (it has a lookaround, a backreference or a repeat above {16}): a reply can make it backtrack for a long time, and no deadline interrupts a match',
  ]);
});
