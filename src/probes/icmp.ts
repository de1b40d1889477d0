import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { isIP } from 'node:net';
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
const MAX_LINE_CHARS = 64 * 1024;

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

  /** Spawns one tool for these waiters; it lives only while one of them waits, and never past deadlineMs. */
  const launch = (
    tool: Tool, command: string, args: string[], waiters: Waiter[], deadlineMs: number,
    onLine: (line: string, stream: 'stdout' | 'stderr') => void,
    onExit: (code: number | null, signal: NodeJS.Signals | null) => void,
  ): void => {
    let proc: ChildProcess;
    try {
      proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: toolEnv });
    } catch (error) {
      const message = `cannot run ${tool} (${command}): ${error instanceof Error ? error.message : String(error)}`;
      reportOnce(tool, message);
      for (const waiter of waiters) waiter.finish({ ok: false, error: message });
      return;
    }
    const child: RunningChild = { proc, waiters, waiting: waiters.length };
    running.add(child);
    for (const waiter of waiters) waiter.child = child;
    let spawnError: string | undefined;
    child.deadline = setTimeout(() => {
      for (const waiter of waiters) waiter.finish({ ok: false, error: noReply(waiter) });
      stop(child);
    }, Math.max(0, deadlineMs));
    readLines(proc.stdout!, (line) => onLine(line, 'stdout'));
    readLines(proc.stderr!, (line) => onLine(line, 'stderr'));
    proc.once('error', (error) => {
      spawnError = `cannot run ${tool} (${command}): ${error.message}`;
      reportOnce(tool, spawnError);
    });
    proc.once('close', (code, signal) => {
      clearTimeout(child.deadline);
      running.delete(child);
      if (spawnError !== undefined) {
        for (const waiter of waiters) waiter.finish({ ok: false, error: spawnError });
        return;
      }
      onExit(code, signal);
      for (const waiter of waiters) waiter.finish({ ok: false, error: `${tool} gave no result for ${waiter.host}` });
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
    const toolErrors: string[] = [];
    const settleHost = (host: string, outcome: (waiter: Waiter) => Outcome): void => {
      for (const waiter of byHost.get(host) ?? []) waiter.finish(outcome(waiter));
    };
    const onLine = (text: string): void => {
      const line = parseFpingLine(text);
      if (line === null) return;
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
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (waiters.every((waiter) => waiter.settled)) return;
      // 0: all alive, 1: some unreachable, 2: a name not found. fping speaks of every host it
      // pinged, so silence about one means it failed (bad options exit 1 too, errors 3 and 4).
      if (code === 2 && toolErrors.length === 0) return failRemaining(byHost, (host) => `fping: host unknown: ${host}`);
      const message = `fping failed (${signal === null ? `exit code ${code}` : `killed by ${signal}`}): ${toolErrors[0] ?? 'no message'}`;
      reportOnce('fping', message);
      failRemaining(byHost, () => message);
    };
    logger.debug({ tool: 'fping', hosts: hosts.length, timeoutMs }, 'fping batch');
    launch('fping', command, fpingArguments(hosts, waitMs, FPING_INTERVAL_MS), waiters, timeoutMs - (now - newest), onLine, onExit);
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
    const output = { stdout: [] as string[], stderr: [] as string[] };
    launch('ping', command, pingArguments(waiter.host, waitMs, flavour, fractional), [waiter], timeout - elapsed,
      (line, stream) => { if (output[stream].length < 200) output[stream].push(line); },
      (code) => {
        const outcome = parsePingOutput(output.stdout.join('\n'), output.stderr.join('\n'), waiter.host, timeout);
        if (outcome.replied) return waiter.finish({ ok: true, rttMs: outcome.rttMs });
        waiter.finish({ ok: false, error: outcome.error ?? `ping failed (exit code ${code ?? 'none'})` });
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

function readLines(stream: Readable, onLine: (line: string) => void): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = (lines.pop() ?? '').slice(0, MAX_LINE_CHARS);
    for (const line of lines) onLine(line);
  });
  stream.on('end', () => {
    if (rest !== '') onLine(rest);
    rest = '';
  });
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
