import { execFile, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, unlinkSync } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { IcmpTarget } from '../config/schema.js';
import { silentLogger, type Logger } from '../log.js';
import {
  WINDOWS_UNSUPPORTED, describeHostError, fpingArguments, parseFpingLine, parsePingOutput, pingArguments,
  pingFlavour, pingTakesFractionalWait,
} from './icmp-parse.js';
import { describeAbort, type Probe, type ProbeResult } from './types.js';

export const ICMP_TOOLS_MISSING = 'ICMP targets need fping or ping on PATH (Debian: apt-get install fping iputils-ping)';

export interface IcmpTools {
  fping: string | null;
  ping: string | null;
}

export interface IcmpProbeOptions {
  /** fping, which batches probes into one process; `fping` on PATH when unset, not used when null. */
  fpingPath?: string | null;
  /** ping, one process per probe, used only when fpingPath is null; `ping` on PATH when unset. */
  pingPath?: string | null;
  /** How long probes gather before one fping takes them all. */
  batchWindowMs?: number;
  /** Where fping's output file is made (and at once unlinked); the system's temp directory when unset. */
  outputDir?: string;
  logger?: Logger;
}

export interface IcmpProber {
  probe: Probe<IcmpTarget>;
  /** Kills every running child; probes still waiting resolve as aborted. */
  close(): void;
}

type Tool = 'fping' | 'ping';
type Outcome = { ok: true; rttMs: number } | { ok: false; error: string };

/** One probe waiting for its echo reply. */
interface Waiter {
  readonly target: IcmpTarget;
  readonly host: string;
  readonly started: number;
  readonly tool: Tool;
  settled: boolean;
  child?: RunningChild;
  finish(outcome: Outcome): void;
}

/** What a tool printed. fping's two streams share one file, so there `stdout` holds both. */
interface ToolOutput {
  stdout: string;
  stderr: string;
}

/** Holds a child's output until it is read, all at once, when the child ends or its deadline comes. */
interface OutputCapture {
  readonly stdio: StdioOptions;
  attach(proc: ChildProcess): void;
  read(): ToolOutput;
  release(): void;
}

interface RunningChild {
  readonly proc: ChildProcess;
  readonly waiters: Waiter[];
  /** Waiters not yet settled: at 0 the child has no one left to answer and is killed. */
  waiting: number;
  deadline?: NodeJS.Timeout;
}

const PHASE = 'waiting for echo reply';
const DEFAULT_BATCH_WINDOW_MS = 5;
/** Gap between two echo requests of one fping (-i): the least it allows an unprivileged user. */
const FPING_INTERVAL_MS = 1;
/** The gap it achieves: 100 hosts took 0.21 s and 1,000 took 1.42 s with -i 1 (fping 5.1). */
const FPING_SEND_SPACING_MS = 2;
const MAX_HOSTS_PER_FPING = 1000;
/** fping prints about 130 bytes a host; a tool printing more than this is cut off. */
const MAX_OUTPUT_BYTES = 1024 * 1024;

/**
 * The ICMP echo probe, through the system's fping (one process per batch of probes that share a
 * timeout) or, without fping, one ping per probe. No raw sockets: the tools carry the privilege.
 */
export function createIcmpProbe(options: IcmpProbeOptions = {}): IcmpProber {
  const fpingPath = options.fpingPath === undefined ? 'fping' : options.fpingPath;
  const pingPath = options.pingPath === undefined ? 'ping' : options.pingPath;
  const batchWindowMs = options.batchWindowMs ?? DEFAULT_BATCH_WINDOW_MS;
  const logger = options.logger ?? silentLogger();
  const unsettled = new Set<Waiter>();
  const running = new Set<RunningChild>();
  const queued = new Map<number, Waiter[]>();
  const reported = new Set<string>();
  let flushTimer: NodeJS.Timeout | undefined;
  let fractionalWait: Promise<boolean> | undefined;
  let closed = false;
  let pipesReported = false;
  const outputDir = options.outputDir ?? tmpdir();
  // The C locale: English messages to parse, and "0.5" read with a decimal point.
  const toolEnv = { ...process.env, LC_ALL: 'C' };

  /** A tool-level failure is logged once, not once per probe. */
  const reportOnce = (tool: Tool, message: string): void => {
    if (reported.has(message)) return;
    reported.add(message);
    logger.error({ tool }, message);
  };

  const stop = (child: RunningChild): void => {
    clearTimeout(child.deadline);
    const { proc } = child;
    if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
    try {
      process.kill(-proc.pid, 'SIGKILL'); // its own process group: a wrapper script's children go too
    } catch {
      proc.kill('SIGKILL');
    }
  };

  const onWaiterSettled = (child: RunningChild): void => {
    child.waiting -= 1;
    if (child.waiting <= 0) stop(child);
  };

  /** fping's output goes to a file, unless none can be made here: then pipes, said once. */
  const fpingCapture = (): OutputCapture => {
    try {
      return fileCapture(outputDir);
    } catch (error) {
      if (!pipesReported) {
        pipesReported = true;
        logger.info({ tool: 'fping', dir: outputDir, err: String(error) }, 'fping output goes through pipes: no file can be made in its directory');
      }
      return pipeCapture();
    }
  };

  /**
   * Spawns one tool for these waiters; it lives only while one of them waits, and never past
   * deadlineMs. Its output is read once: at exit, or at the deadline before it is killed.
   */
  const launch = (
    tool: Tool, command: string, args: string[], waiters: Waiter[], deadlineMs: number, capture: OutputCapture,
    onOutput: (output: ToolOutput, exit?: { code: number | null; signal: NodeJS.Signals | null }) => void,
  ): void => {
    let proc: ChildProcess;
    try {
      proc = spawn(command, args, { stdio: capture.stdio, detached: true, env: toolEnv });
    } catch (error) {
      capture.release();
      const message = `cannot run ${tool} (${command}): ${error instanceof Error ? error.message : String(error)}`;
      reportOnce(tool, message);
      for (const waiter of waiters) waiter.finish({ ok: false, error: message });
      return;
    }
    capture.attach(proc);
    const child: RunningChild = { proc, waiters, waiting: waiters.length };
    running.add(child);
    for (const waiter of waiters) waiter.child = child;
    let spawnError: string | undefined;
    child.deadline = setTimeout(() => {
      onOutput(capture.read());
      for (const waiter of waiters) waiter.finish({ ok: false, error: noReply(waiter) });
      stop(child);
    }, Math.max(0, deadlineMs));
    proc.once('error', (error) => {
      spawnError = `cannot run ${tool} (${command}): ${error.message}`;
      reportOnce(tool, spawnError);
    });
    proc.once('close', (code, signal) => {
      clearTimeout(child.deadline);
      running.delete(child);
      if (spawnError !== undefined) {
        for (const waiter of waiters) waiter.finish({ ok: false, error: spawnError });
      } else if (child.waiting > 0) {
        onOutput(capture.read(), { code, signal });
        for (const waiter of waiters) waiter.finish({ ok: false, error: `${tool} gave no result for ${waiter.host}` });
      }
      capture.release();
    });
  };

  const runFping = (command: string, timeoutMs: number, byHost: Map<string, Waiter[]>): void => {
    const hosts = [...byHost.keys()];
    const waiters = [...byHost.values()].flat();
    const now = performance.now();
    const oldest = Math.min(...waiters.map((waiter) => waiter.started));
    const newest = Math.max(...waiters.map((waiter) => waiter.started));
    // fping sends one echo per interval, so the last host's wait starts later; leave a margin
    // so a lost echo is reported as such before the scheduler's deadline fires.
    const spread = (hosts.length - 1) * FPING_SEND_SPACING_MS;
    const margin = Math.min(100, Math.ceil(timeoutMs * 0.05));
    const waitMs = timeoutMs - (now - oldest) - spread - margin;
    const settleHost = (host: string, outcome: (waiter: Waiter) => Outcome): void => {
      for (const waiter of byHost.get(host) ?? []) waiter.finish(outcome(waiter));
    };
    const onOutput = (output: ToolOutput, exit?: { code: number | null; signal: NodeJS.Signals | null }): void => {
      const toolErrors: string[] = [];
      for (const text of `${output.stdout}\n${output.stderr}`.split('\n')) {
        const line = parseFpingLine(text);
        if (line === null) continue;
        if (line.kind === 'tool-error') {
          if (toolErrors.length < 5) toolErrors.push(line.message);
        } else if (line.kind === 'reply') {
          settleHost(line.host, () => ({ ok: true, rttMs: line.rttMs }));
        } else if (line.kind === 'summary' && line.received > 0 && line.rttMs !== undefined) {
          const rttMs = line.rttMs;
          settleHost(line.host, () => ({ ok: true, rttMs }));
        } else if (line.kind === 'host-error') {
          settleHost(line.host, () => ({ ok: false, error: describeHostError('fping', line.host, line.message) }));
        } else {
          settleHost(line.host, (waiter) => ({ ok: false, error: noReply(waiter) }));
        }
      }
      if (exit === undefined || waiters.every((waiter) => waiter.settled)) return;
      // 0: all alive, 1: some unreachable, 2: a name not found. fping speaks of every host it
      // pinged, so silence about one means it failed (bad options exit 1 too, errors 3 and 4).
      if (exit.code === 2 && toolErrors.length === 0) return failRemaining(byHost, (host) => `fping: host unknown: ${host}`);
      const message = `fping failed (${exit.signal === null ? `exit code ${exit.code}` : `killed by ${exit.signal}`}): ${toolErrors[0] ?? 'no message'}`;
      reportOnce('fping', message);
      failRemaining(byHost, () => message);
    };
    logger.debug({ tool: 'fping', hosts: hosts.length, timeoutMs }, 'fping batch');
    launch('fping', command, fpingArguments(hosts, waitMs, FPING_INTERVAL_MS), waiters, timeoutMs - (now - newest), fpingCapture(), onOutput);
  };

  const flush = (): void => {
    flushTimer = undefined;
    const groups = [...queued];
    queued.clear();
    for (const [timeoutMs, group] of groups) {
      const byHost = new Map<string, Waiter[]>();
      for (const waiter of group) {
        if (waiter.settled) continue;
        const same = byHost.get(waiter.host);
        if (same) same.push(waiter);
        else byHost.set(waiter.host, [waiter]);
      }
      const entries = [...byHost];
      const perProcess = hostsPerFping(timeoutMs);
      for (let start = 0; start < entries.length; start += perProcess) {
        runFping(fpingPath!, timeoutMs, new Map(entries.slice(start, start + perProcess)));
      }
    }
  };

  const enqueue = (waiter: Waiter): void => {
    const group = queued.get(waiter.target.timeout);
    if (group) group.push(waiter);
    else queued.set(waiter.target.timeout, [waiter]);
    flushTimer ??= setTimeout(flush, batchWindowMs);
  };

  const runPing = async (command: string, waiter: Waiter): Promise<void> => {
    const flavour = pingFlavour(process.platform);
    if (flavour === 'unsupported') return waiter.finish({ ok: false, error: WINDOWS_UNSUPPORTED });
    if (flavour === 'bsd' && isIP(waiter.host) === 6) {
      return waiter.finish({ ok: false, error: `ping here does not do IPv6 (${waiter.host}): install fping` });
    }
    fractionalWait ??= flavour === 'iputils' ? checkFractionalWait(command) : Promise.resolve(false);
    const fractional = await fractionalWait;
    if (waiter.settled) return;
    const { timeout } = waiter.target;
    const elapsed = performance.now() - waiter.started;
    const waitMs = timeout - elapsed - Math.min(100, Math.ceil(timeout * 0.05));
    launch('ping', command, pingArguments(waiter.host, waitMs, flavour, fractional), [waiter], timeout - elapsed, pipeCapture(),
      (output, exit) => {
        if (exit === undefined) return;
        const outcome = parsePingOutput(output.stdout, output.stderr, waiter.host, timeout);
        if (outcome.replied) return waiter.finish({ ok: true, rttMs: outcome.rttMs });
        waiter.finish({ ok: false, error: outcome.error ?? `ping failed (exit code ${exit.code ?? 'none'})` });
      });
  };

  const probe: Probe<IcmpTarget> = (target, signal) => {
    const at = Date.now();
    const started = performance.now();
    const host = target.host.trim();
    const failedAtOnce = (error: string): Promise<ProbeResult> => Promise.resolve({ ok: false, at, latencyMs: 0, error });
    if (closed) return failedAtOnce(describeAbort(AbortSignal.abort(), target.timeout, PHASE));
    if (signal.aborted) return failedAtOnce(describeAbort(signal, target.timeout, PHASE));
    if (fpingPath === null && pingPath === null) return failedAtOnce(ICMP_TOOLS_MISSING);

    return new Promise<ProbeResult>((resolve) => {
      const waiter: Waiter = {
        target, host, started, tool: fpingPath !== null ? 'fping' : 'ping', settled: false,
        finish(outcome) {
          if (waiter.settled) return;
          waiter.settled = true;
          unsettled.delete(waiter);
          signal.removeEventListener('abort', onAbort);
          resolve(outcome.ok
            ? { ok: true, at, latencyMs: outcome.rttMs, details: { rttMs: outcome.rttMs, tool: waiter.tool } }
            : { ok: false, at, latencyMs: performance.now() - started, error: outcome.error, details: { tool: waiter.tool } });
          if (waiter.child) onWaiterSettled(waiter.child);
        },
      };
      const onAbort = (): void => waiter.finish({ ok: false, error: describeAbort(signal, target.timeout, PHASE) });
      signal.addEventListener('abort', onAbort, { once: true });
      unsettled.add(waiter);
      if (fpingPath !== null) enqueue(waiter);
      else runPing(pingPath!, waiter).catch((error: unknown) => waiter.finish({ ok: false, error: `ping: ${String(error)}` }));
    });
  };

  const close = (): void => {
    closed = true;
    clearTimeout(flushTimer);
    flushTimer = undefined;
    queued.clear();
    const aborted = describeAbort(AbortSignal.abort(), 0, PHASE);
    for (const waiter of [...unsettled]) waiter.finish({ ok: false, error: aborted });
    for (const child of running) stop(child);
  };

  return { probe, close };
}

function failRemaining(byHost: Map<string, Waiter[]>, error: (host: string) => string): void {
  for (const [host, waiters] of byHost) {
    for (const waiter of waiters) waiter.finish({ ok: false, error: error(host) });
  }
}

function noReply(waiter: Waiter): string {
  return `no echo reply from ${waiter.host} within ${waiter.target.timeout}ms`;
}

/** Hosts one fping takes: its sends are spaced, so keep the spread within half the timeout. */
function hostsPerFping(timeoutMs: number): number {
  return Math.min(MAX_HOSTS_PER_FPING, Math.max(1, Math.floor(timeoutMs / 2 / FPING_SEND_SPACING_MS)));
}

/**
 * Output into a file that is unlinked at once, read when the child is done: fping flushes every
 * reply line, and through a pipe each one would wake the bot. The file is gone with its last fd.
 */
function fileCapture(dir: string): OutputCapture {
  const path = join(dir, `probebot-fping-${randomUUID()}`);
  const fd = openSync(path, 'wx+', 0o600);
  try {
    unlinkSync(path);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  let open = true;
  return {
    stdio: ['ignore', fd, fd],
    attach() {},
    read() {
      if (!open) return { stdout: '', stderr: '' };
      const buffer = Buffer.allocUnsafe(Math.min(fstatSync(fd).size, MAX_OUTPUT_BYTES));
      let length = 0;
      for (let got = -1; got !== 0 && length < buffer.length; length += got) {
        got = readSync(fd, buffer, length, buffer.length - length, length);
      }
      return { stdout: buffer.toString('utf8', 0, length), stderr: '' };
    },
    release() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** Output through pipes, kept in memory up to MAX_OUTPUT_BYTES a stream. */
function pipeCapture(): OutputCapture {
  const kept = { stdout: '', stderr: '' };
  const keep = (stream: Readable | null, name: keyof ToolOutput): void => {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      if (kept[name].length < MAX_OUTPUT_BYTES) kept[name] += chunk;
    });
  };
  return {
    stdio: ['ignore', 'pipe', 'pipe'],
    attach(proc) {
      keep(proc.stdout, 'stdout');
      keep(proc.stderr, 'stderr');
    },
    read: () => ({ ...kept }),
    release() {},
  };
}

/** iputils before s20190324 read `-W 0.5` as 0 (wait forever): ask `ping -V` once. */
function checkFractionalWait(command: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(command, ['-V'], { timeout: 2000, killSignal: 'SIGKILL', env: { ...process.env, LC_ALL: 'C' } }, (_error, stdout, stderr) => {
      resolve(pingTakesFractionalWait(`${stdout}\n${stderr}`));
    });
  });
}

/**
 * Finds fping and ping on PATH and checks that they run (a binary the loader cannot start exits
 * 126/127). Call once at startup; when both are null, print icmpToolsProblem().
 */
export async function detectIcmpTools(options: { path?: string; platform?: NodeJS.Platform } = {}): Promise<IcmpTools> {
  const platform = options.platform ?? process.platform;
  if (pingFlavour(platform) === 'unsupported') return { fping: null, ping: null };
  const dirs = (options.path ?? process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  const [fping, ping] = await Promise.all([findRunnable('fping', dirs, ['-v']), findRunnable('ping', dirs, ['-V'])]);
  return { fping, ping };
}

/** The one line to print at startup when ICMP targets cannot be probed here, else undefined. */
export function icmpToolsProblem(tools: IcmpTools, platform: NodeJS.Platform = process.platform): string | undefined {
  if (pingFlavour(platform) === 'unsupported') return WINDOWS_UNSUPPORTED;
  return tools.fping === null && tools.ping === null ? ICMP_TOOLS_MISSING : undefined;
}

async function findRunnable(name: string, dirs: string[], args: string[]): Promise<string | null> {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
    } catch {
      continue;
    }
    if (await runs(candidate, args)) return candidate;
  }
  return null;
}

function runs(command: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { timeout: 2000, killSignal: 'SIGKILL' }, () => {
      const code = child.exitCode;
      resolve(code !== null && code !== 126 && code !== 127);
    });
  });
}
