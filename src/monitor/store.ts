import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { writeFileAtomic } from '../atomic-file.js';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import type { Logger } from '../log.js';
import type { ProbeResult } from '../probes/types.js';
import type { AnnouncedState, TargetState, TargetStatus } from './types.js';

export const STATE_FILE = 'targets.jsonl';
const HEADER = JSON.stringify({ format: 'probebot-target-states', version: 1 });
/** Rewrite the log once it holds this many times the bytes of the live records. */
const COMPACT_FACTOR = 4;
/** Records encoded or joined between two yields to the event loop, so a big flush does not stall probes. */
const ENCODE_CHUNK = 500;

export interface StateStoreOptions {
  dir: string;
  /** How often changed statuses are written, ms. */
  flushIntervalMs: number;
  clock?: Clock;
  logger: Logger;
}

export interface StateStoreStats {
  /** When the last successful write began. */
  lastFlushAt?: number;
  /** Why writing fails, while it does. */
  lastError?: string;
  /** Successful writes (appends and rewrites) since start. */
  writes: number;
  bytesWritten: number;
  /** The last write failed; statuses are kept in memory and written at the next flush. */
  failing: boolean;
}

/**
 * Keeps every target's status on disk so that a restart neither forgets an open incident nor
 * announces it again.
 *
 * The file is an append-only log of JSON lines: a header line, then one record per changed
 * status, the last record of a target winning. update() only remembers the status (O(1), no
 * I/O); once per flush interval the statuses whose saved state changed are encoded and appended
 * in one write and fsync. A probe that changes only the display data (its latency, the last
 * result) is not appended: at 10,000 steady targets that would be 1,000 records a second, all
 * garbage for the heap and the disk. Those go out with the next rewrite, and always at close().
 * When the log outgrows the live records COMPACT_FACTOR times, or after a removal or a failed
 * write, it is rewritten whole: temp file, fsync, rename, fsync of the directory. A crash thus
 * loses at most the last flush interval of state (and the display data since the last rewrite),
 * and at worst leaves a torn last line, which load ignores.
 */
export class StateStore {
  private readonly path: string;
  private readonly clock: Clock;
  /** Each target's newest status, for rewrites. */
  private readonly latest = new Map<string, TargetStatus>();
  /** Bytes of each target's record as last written, to know when the log has outgrown them. */
  private readonly recordBytes = new Map<string, number>();
  private liveBytes = 0;
  /** Display data changed since the last rewrite: close() rewrites so a clean restart has it. */
  private displayStale = false;
  /** Bytes in the file as this store last left it. */
  private logBytes = 0;
  /** Updated since the last flush, not yet encoded. */
  private changed = new Map<string, TargetStatus>();
  /** Removed since the last rewrite: skipped if a pending update still carries them. */
  private readonly removed = new Set<string>();
  /** Counts removals, to notice one that lands while a rewrite is being written. */
  private removals = 0;
  /** Appending is safe only to a file this store wrote whole and whose every append succeeded. */
  private appendSafe = false;
  /** Something must be written even if nothing changed: a removal, or a failed write. */
  private dirty = false;
  private queue: Promise<void> = Promise.resolve();
  private timer: TimerHandle | undefined;
  private closed = false;
  private readonly counters: StateStoreStats = { writes: 0, bytesWritten: 0, failing: false };

  constructor(private readonly options: StateStoreOptions) {
    this.path = join(options.dir, STATE_FILE);
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Reads the saved statuses. A missing file is a first start; an unreadable or corrupt one is
   * reported, moved aside for a post-mortem and treated as a first start: never a crash.
   */
  async load(): Promise<Map<string, TargetStatus>> {
    const statuses = new Map<string, TargetStatus>();
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') {
        this.options.logger.warn({ path: this.path }, `cannot read saved target states ${this.path}: ${errorMessage(error)}; starting with none`);
      }
      return statuses;
    }
    const decoded = decodeLog(text);
    if (typeof decoded === 'string') {
      await this.moveAside(decoded);
      return statuses;
    }
    for (const [target, { status, line }] of decoded) {
      statuses.set(target, status);
      this.latest.set(target, status);
      this.remember(target, line.length + 1);
    }
    return statuses;
  }

  /**
   * Remembers a target's new status. With `changesSavedState` false (only its latency and last
   * result moved, see changesSavedState() in state-machine.ts) nothing is appended for it: the
   * next rewrite or close() carries it.
   */
  update(status: TargetStatus, changesSavedState = true): void {
    this.latest.set(status.target, status);
    if (changesSavedState) this.changed.set(status.target, status);
    else this.displayStale = true;
    if (this.removed.size > 0) this.removed.delete(status.target);
  }

  /** Forgets a target that left the config. */
  remove(target: string): void {
    this.changed.delete(target);
    this.latest.delete(target);
    this.removed.add(target);
    const bytes = this.recordBytes.get(target);
    if (bytes === undefined) return;
    this.recordBytes.delete(target);
    this.liveBytes -= bytes;
    this.removals += 1;
    this.appendSafe = false;
    this.dirty = true;
  }

  /** Starts writing changes every flush interval. */
  start(): void {
    if (this.closed || this.timer !== undefined) return;
    this.timer = this.clock.setTimeout(() => {
      void this.flush().then(() => {
        this.timer = undefined;
        this.start();
      });
    }, this.options.flushIntervalMs);
  }

  /** Writes what changed since the last write, if anything. Never rejects: failures go to stats(). */
  flush(): Promise<void> {
    // One write at a time; a flush asked for during a write runs after it.
    const next = this.queue.then(() => this.writeChanges());
    this.queue = next;
    return next;
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const next = this.queue.then(() => this.writeChanges({ final: true }));
    this.queue = next;
    await next;
  }

  stats(): StateStoreStats {
    return { ...this.counters };
  }

  private async writeChanges(options: { final?: boolean } = {}): Promise<void> {
    const batch = [...this.changed.values()];
    const catchUp = options.final === true && this.displayStale;
    if (batch.length === 0 && !this.dirty && !catchUp) return;
    this.changed = new Map();
    const startedAt = this.clock.now();
    try {
      const appended: string[] = [];
      for (const [index, status] of batch.entries()) {
        if (index > 0 && index % ENCODE_CHUNK === 0) await yieldToEventLoop();
        if (this.removed.has(status.target)) continue;
        const line = encodeStatus(status);
        this.remember(status.target, line.length + 1);
        appended.push(line);
      }
      const rewrite = catchUp || !this.appendSafe || this.logBytes > COMPACT_FACTOR * this.liveBytes;
      if (!rewrite && appended.length === 0) return;
      const written = rewrite ? await this.rewrite() : await this.append(appended);
      this.counters.writes += 1;
      this.counters.bytesWritten += written;
      this.counters.lastFlushAt = startedAt;
      if (this.counters.failing) this.options.logger.info({ path: this.path }, `target states saved again to ${this.path}`);
      this.counters.failing = false;
      delete this.counters.lastError;
    } catch (error) {
      // The statuses stay in `latest`; a rewrite at the next flush puts them all on disk.
      this.appendSafe = false;
      this.dirty = true;
      this.reportFailure(error);
    }
  }

  private async rewrite(): Promise<number> {
    this.removed.clear();
    const removals = this.removals;
    this.displayStale = false;
    const content = await toBytes([[HEADER], this.encodeLatest()]);
    await writeAtomically(this.options.dir, this.path, content);
    this.logBytes = content.length;
    // A target removed while this was written is still in the file: the next flush rewrites again.
    if (this.removals === removals) {
      this.appendSafe = true;
      this.dirty = false;
    }
    return content.length;
  }

  private async append(records: string[]): Promise<number> {
    const content = await toBytes([records]);
    const file = await open(this.path, 'a');
    try {
      // Someone else changed the file (deleted, truncated): appending would corrupt it.
      if ((await file.stat()).size !== this.logBytes) throw new Error(`${this.path} changed under the bot; rewriting it`);
      await file.writeFile(content);
      await file.sync();
    } finally {
      await file.close();
    }
    this.logBytes += content.length;
    return content.length;
  }

  /** Every target's newest record, its size remembered as the live size of the log. */
  private *encodeLatest(): Iterable<string> {
    for (const status of this.latest.values()) {
      const line = encodeStatus(status);
      this.remember(status.target, line.length + 1);
      yield line;
    }
  }

  private remember(target: string, bytes: number): void {
    this.liveBytes += bytes - (this.recordBytes.get(target) ?? 0);
    this.recordBytes.set(target, bytes);
  }

  /** Logs the first failure of a streak only: the next flushes retry quietly. */
  private reportFailure(error: unknown): void {
    const reason = errorMessage(error);
    this.counters.lastError = reason;
    if (this.counters.failing) return;
    this.counters.failing = true;
    this.options.logger.error(
      { path: this.path },
      `cannot save target states to ${this.path}: ${reason}; keeping them in memory and retrying every ${this.options.flushIntervalMs}ms`,
    );
  }

  private async moveAside(reason: string): Promise<void> {
    const aside = `${this.path}.corrupt-${new Date(this.clock.now()).toISOString().replace(/[:.]/g, '-')}`;
    try {
      await rename(this.path, aside);
      this.options.logger.warn({ path: this.path }, `saved target states ${this.path} are unusable (${reason}); moved to ${aside}, starting with none`);
    } catch (error) {
      this.options.logger.warn(
        { path: this.path },
        `saved target states ${this.path} are unusable (${reason}) and could not be moved aside: ${errorMessage(error)}; starting with none`,
      );
    }
  }
}

/** Records as newline-terminated lines, encoded a chunk at a time between yields to the event loop. */
async function toBytes(sources: Array<Iterable<string>>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let chunk: string[] = [];
  for (const source of sources) {
    for (const record of source) {
      chunk.push(record);
      if (chunk.length < ENCODE_CHUNK) continue;
      chunks.push(Buffer.from(`${chunk.join('\n')}\n`));
      chunk = [];
      await yieldToEventLoop();
    }
  }
  if (chunk.length > 0) chunks.push(Buffer.from(`${chunk.join('\n')}\n`));
  return Buffer.concat(chunks);
}

/** Creates the directory if needed, then replaces the file atomically (temp file, fsync, rename, directory fsync). */
export async function writeAtomically(dir: string, path: string, content: Buffer): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(path, content);
}

/**
 * One target's record on one line, compact but readable: history as a "1101" string (oldest
 * first), latencies to 0.1 ms, the last result without its phases and details (the next probe
 * brings them back), default values left out.
 */
export function encodeStatus(status: TargetStatus): string {
  const record: Record<string, unknown> = {
    target: status.target,
    state: status.state,
    since: status.since,
    failures: status.consecutiveFailures,
    successes: status.consecutiveSuccesses,
    history: status.history.map((ok) => (ok ? '1' : '0')).join(''),
    announced: status.announced,
    latencies: status.recentLatencies.filter(Number.isFinite).map(tenths),
  };
  if (status.flapping) record.flapping = true;
  if (status.flapPercent !== 0) record.flapPercent = status.flapPercent;
  if (status.announcedBeforeFlapping !== undefined) record.announcedBeforeFlapping = status.announcedBeforeFlapping;
  if (status.incident) record.incident = status.incident;
  if (status.lastResult) {
    const { ok, latencyMs, at, error } = status.lastResult;
    record.last = error === undefined ? { ok, latencyMs: tenths(latencyMs), at } : { ok, latencyMs: tenths(latencyMs), at, error };
  }
  return JSON.stringify(record);
}

/** Each target's latest status (and its line) in a saved log, or why the log cannot be used. */
export function decodeLog(text: string): Map<string, { status: TargetStatus; line: string }> | string {
  const lines = text.split('\n');
  // The last piece follows the last newline: empty, or an append torn by a crash (dropped).
  lines.pop();
  if (lines[0] === undefined) return 'empty file';
  if (lines[0] !== HEADER) return `first line is not ${HEADER}`;
  const latest = new Map<string, { status: TargetStatus; line: string }>();
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index] ?? '';
    const status = decodeStatus(line);
    if (!status) return `line ${index + 1} is not a target record`;
    latest.set(status.target, { status, line });
  }
  return latest;
}

const STATES: readonly string[] = ['UNKNOWN', 'UP', 'DOWN'] satisfies TargetState[];
const ANNOUNCED: readonly string[] = ['UNKNOWN', 'UP', 'DOWN', 'FLAPPING'] satisfies AnnouncedState[];

function decodeStatus(line: string): TargetStatus | undefined {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isObject(record)) return undefined;
  const { target, state, since, failures, successes, history, announced, latencies } = record;
  const flapping = record.flapping ?? false;
  const flapPercent = record.flapPercent ?? 0;
  const valid =
    typeof target === 'string' && isOneOf(state, STATES) && isCount(since) && isCount(failures) && isCount(successes) &&
    typeof history === 'string' && /^[01]*$/.test(history) && isOneOf(announced, ANNOUNCED) &&
    Array.isArray(latencies) && latencies.every(isNumber) && typeof flapping === 'boolean' && isNumber(flapPercent);
  if (!valid) return undefined;
  const status: TargetStatus = {
    target,
    state: state as TargetState,
    since,
    consecutiveFailures: failures,
    consecutiveSuccesses: successes,
    history: [...history].map((c) => c === '1'),
    flapping,
    flapPercent,
    announced: announced as AnnouncedState,
    recentLatencies: latencies as number[],
  };
  const { announcedBeforeFlapping, incident, last } = record;
  if (announcedBeforeFlapping !== undefined) {
    if (!isOneOf(announcedBeforeFlapping, STATES)) return undefined;
    status.announcedBeforeFlapping = announcedBeforeFlapping as TargetState;
  }
  if (incident !== undefined) {
    if (!isObject(incident) || typeof incident.id !== 'string' || !isCount(incident.since)) return undefined;
    status.incident = { id: incident.id, since: incident.since };
  }
  if (last !== undefined) {
    const lastResult = decodeResult(last);
    if (!lastResult) return undefined;
    status.lastResult = lastResult;
  }
  return status;
}

function decodeResult(record: unknown): ProbeResult | undefined {
  if (!isObject(record)) return undefined;
  const { ok, latencyMs, at, error } = record;
  if (typeof ok !== 'boolean' || !isNumber(latencyMs) || !isCount(at)) return undefined;
  if (error === undefined) return { ok, latencyMs, at };
  return typeof error === 'string' ? { ok, latencyMs, at, error } : undefined;
}

/** To 0.1 ms; a non-finite value (a probe's bug) must not make the whole file unreadable. */
const tenths = (ms: number): number => (Number.isFinite(ms) ? Math.round(ms * 10) / 10 : 0);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isOneOf = (value: unknown, allowed: readonly string[]): value is string => typeof value === 'string' && allowed.includes(value);
const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isCount = (value: unknown): value is number => isNumber(value) && value >= 0;
const errorCode = (error: unknown): unknown => (isObject(error) ? error.code : undefined);
const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));
