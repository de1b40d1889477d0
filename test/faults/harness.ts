/**
 * Drives the built bot (`node dist/cli.js`) as a child process for the fault-injection suite:
 * a generated config in a temp dir, its JSON log lines from stdout, /healthz and /metrics over
 * loopback, and a kill -9 that every test file's `after` hook can rely on even when a test failed.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'dist/cli.js');

/** One pino line as the bot writes it when stdout is not a terminal. */
export interface LogLine {
  level: number;
  time: number;
  msg: string;
  [field: string]: unknown;
}

export const LOG_LEVEL = { debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface HealthAnswer {
  status: number;
  body: {
    status: string;
    problems: string[];
    warnings: string[];
    targets: { total: number; up: number; down: number; unknown: number; flapping: number };
    scheduler: { jobs: number; running: number; queued: number; stuck: number; lastLagMs: number };
    outbox: { pending: number; oldestPendingAgeMs: number };
    stateStore: { failing: boolean; lastError?: string };
  };
}

export interface BotProcess {
  readonly pid: number;
  /** The HTTP port the bot logged in its "probebot started" line. */
  readonly port: number;
  /** Every log line so far, in order. */
  readonly lines: readonly LogLine[];
  stderr(): string;
  /** Settles when the process has exited. */
  readonly exited: Promise<Exit>;
  url(path: string): string;
  waitForLine(match: (line: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  healthz(): Promise<HealthAnswer>;
  metrics(): Promise<Metrics>;
  /** Resident memory from /proc/<pid>/status, in kB. */
  rssKb(): number;
  kill9(): Promise<Exit>;
  /** SIGTERM, then wait for the exit (kill -9 after STOP_TIMEOUT_MS). */
  stop(): Promise<Exit>;
}

/** The bot lets in-flight probes finish for up to 5 s on SIGTERM; beyond this it hangs. */
const STOP_TIMEOUT_MS = 10_000;
const running = new Set<ChildProcess>();

// Last resort: a test runner that dies leaves no bot behind.
process.on('exit', () => {
  for (const child of running) if (isAlive(child)) child.kill('SIGKILL');
});

/**
 * Starts `node dist/cli.js run -c configPath` and resolves once it logged "probebot started".
 * `env` replaces the child's environment (PATH included) when given.
 */
export async function startBot(options: { configPath: string; env?: NodeJS.ProcessEnv }): Promise<BotProcess> {
  ensureBuilt();
  const child = spawn(process.execPath, [CLI, 'run', '-c', options.configPath], {
    cwd: ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  void exited.then(() => running.delete(child));
  const lines: LogLine[] = [];
  let stderr = '';
  let partial = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    const pieces = (partial + chunk).split('\n');
    partial = pieces.pop() ?? '';
    for (const piece of pieces) if (piece.trim() !== '') lines.push(parseLine(piece));
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (stderr += chunk));

  const waitForLine = async (match: (line: LogLine) => boolean, what: string, timeoutMs = 10_000): Promise<LogLine> => {
    let found: LogLine | undefined;
    await until(() => (found = lines.find(match)) !== undefined || child.exitCode !== null || child.signalCode !== null, () => `${what}; log so far:\n${tail(lines)}`, timeoutMs);
    if (found === undefined) assert.fail(`the bot exited while waiting for ${what}: ${stderr}\n${tail(lines)}`);
    return found;
  };

  const started = await waitForLine((line) => line.msg === 'probebot started', 'the "probebot started" line', 15_000);
  const port = Number(started.port);
  const url = (path: string): string => `http://127.0.0.1:${port}${path}`;
  const kill = async (signal: NodeJS.Signals): Promise<Exit> => {
    if (isAlive(child)) child.kill(signal);
    // A stop that hangs ends in kill -9, which the caller's exit assertion then shows.
    const hung = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    try {
      return await exited;
    } finally {
      clearTimeout(hung);
    }
  };
  return {
    pid: child.pid!,
    port,
    lines,
    stderr: () => stderr,
    exited,
    url,
    waitForLine,
    async healthz() {
      const response = await fetch(url('/healthz'), { signal: AbortSignal.timeout(5_000) });
      return { status: response.status, body: (await response.json()) as HealthAnswer['body'] };
    },
    async metrics() {
      const response = await fetch(url('/metrics'), { signal: AbortSignal.timeout(5_000) });
      assert.equal(response.status, 200);
      return new Metrics(await response.text());
    },
    rssKb() {
      const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      assert.ok(match, 'VmRSS in /proc/<pid>/status');
      return Number(match[1]);
    },
    kill9: () => kill('SIGKILL'),
    stop: () => kill('SIGTERM'),
  };
}

/** kill -9 of every bot still running; for `after` hooks, so a failed test leaves nothing behind. */
export async function killAllBots(): Promise<void> {
  await Promise.all(
    [...running].map(async (child) => {
      if (!isAlive(child)) return;
      const exit = once(child, 'exit');
      child.kill('SIGKILL');
      await exit;
    }),
  );
}

/** Runs a one-shot CLI command (check, probe …) to its end; killed after timeoutMs. */
export function runCli(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  ensureBuilt();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => {
      clearTimeout(killer);
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A temp dir for one test file's configs and state; remove() in its `after` hook. */
export function workspace(prefix: string): { dir: string; writeConfig(name: string, config: object): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `probebot-faults-${prefix}-`));
  return {
    dir,
    // JSON is YAML: the config is written as the object it is built as.
    writeConfig(name, config) {
      const path = join(dir, name);
      writeFileSync(path, JSON.stringify(config, null, 2));
      return path;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A loopback TCP listener that counts connections and can go away and come back on its port. */
export interface TcpListener {
  readonly port: number;
  /** Connections accepted so far, with when each arrived (ms since the epoch). */
  readonly arrivals: readonly number[];
  close(): Promise<void>;
  reopen(): Promise<void>;
}

export async function startTcpListener(): Promise<TcpListener> {
  const arrivals: number[] = [];
  let server: Server | undefined;
  const listen = async (port: number): Promise<number> => {
    const next = createServer((socket) => {
      arrivals.push(Date.now());
      socket.destroy();
    });
    next.listen(port, '127.0.0.1');
    await once(next, 'listening');
    server = next;
    return (next.address() as AddressInfo).port;
  };
  const port = await listen(0);
  return {
    port,
    arrivals,
    async close() {
      const closing = server;
      server = undefined;
      if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
    },
    async reopen() {
      if (!server) await listen(port);
    },
  };
}

/** The parts of a config every scenario shares: loopback, a free port, its own state dir. */
export function baseConfig(stateDir: string): Record<string, unknown> {
  return {
    server: { host: '127.0.0.1', port: 0 },
    state: { dir: stateDir, flushInterval: '200ms' },
  };
}

/** Polls until `check` returns something truthy; fails with `what` after timeoutMs. */
export async function until<T>(check: () => T | Promise<T>, what: string | (() => string), timeoutMs = 10_000, everyMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() >= deadline) return assert.fail(`timed out after ${timeoutMs}ms waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(everyMs);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A scraped /metrics page, read by name and labels. */
export class Metrics {
  readonly samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];

  constructor(readonly text: string) {
    for (const line of text.split('\n')) {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
      if (!match) continue;
      const labels: Record<string, string> = {};
      for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
      this.samples.push({ name: match[1]!, labels, value: Number(match[3]) });
    }
  }

  /** The value of the one sample with this name whose labels include `labels`. */
  value(name: string, labels: Record<string, string> = {}): number {
    const value = this.find(name, labels);
    assert.ok(value !== undefined, `${name}${JSON.stringify(labels)} in /metrics`);
    return value;
  }

  /** Like value(), but undefined when the series is not (yet) there. */
  find(name: string, labels: Record<string, string> = {}): number | undefined {
    const found = this.samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
    assert.ok(found.length <= 1, `at most one ${name}${JSON.stringify(labels)} in /metrics, found ${found.length}`);
    return found[0]?.value;
  }
}

/**
 * The suite runs the built CLI. `npm run test:faults` builds first; under plain `npm test`
 * (which also finds these files) dist/ may be missing or older than src/, so build it here,
 * once, under a lock so parallel test files do not write dist/ at the same time.
 */
let built = false;
export function ensureBuilt(): void {
  if (built) return;
  // Outside the tree, so a run killed mid-build leaves nothing for git to see.
  const lock = join(tmpdir(), 'probebot-faults-build.lock');
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (attempt > 1200) assert.fail(`cannot take the build lock ${lock}; remove it if no build is running`);
      // A lock left by a killed run goes after two minutes.
      const lockedAt = statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - lockedAt > 120_000) rmSync(lock, { recursive: true, force: true });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
  try {
    if (isStale()) execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
    built = true;
  } finally {
    rmdirSync(lock);
  }
}

function isStale(): boolean {
  const builtAt = statSync(CLI, { throwIfNoEntry: false })?.mtimeMs;
  return builtAt === undefined || newestMtime(join(ROOT, 'src')) > builtAt;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function parseLine(text: string): LogLine {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) return parsed as LogLine;
  } catch {
    // Not JSON: kept as a message, so an assertion can still show it.
  }
  return { level: 0, time: Date.now(), msg: text };
}

function tail(lines: readonly LogLine[], count = 15): string {
  return lines.slice(-count).map((line) => JSON.stringify(line)).join('\n');
}

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}
