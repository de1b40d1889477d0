/**
 * The durable MemoStore notifiers keep per-incident notes in (Slack: channel + ts of a DOWN
 * message). Reads and writes are in memory; changes reach the disk in batches (one write per
 * flush, not one fsync per set), and the delivery engine flushes before it marks an alert
 * delivered, so a note made while delivering is on disk before the alert leaves the outbox.
 *
 * A flush appends only the notes changed since the last one to `memos.log` (one JSON line each)
 * and fdatasyncs it, so a storm that flushes once per delivered alert writes each change once
 * instead of the whole store each time. Once the log outgrows the snapshot, `memos.json` is
 * rewritten whole (temp, fsync, rename) and the log emptied. Each line carries the number of its
 * change and the snapshot the last number it holds, so a crash between the two steps replays nothing twice.
 */
import { mkdir, open, readFile, rename, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import type { Logger } from '../log.js';
import { errorMessage, writeFileAtomic } from '../atomic-file.js';
import type { MemoStore } from './notifier.js';

/** How long after a change the batch is written, unless a flush comes first. */
export const MEMO_FLUSH_DELAY_MS = 1_000;
/** Notes untouched this long are dropped on open: their incidents are long over. */
export const MEMO_RETENTION_MS = 60 * 86_400_000;
/** The log is folded into the snapshot once it is larger than this and than the snapshot. */
const MIN_COMPACT_BYTES = 64 * 1024;

export interface DurableMemoStore extends MemoStore {
  /** Every note one notifier keeps, as [key, memo]. */
  entries(notifier: string): [string, Record<string, unknown>][];
  /** Resolves once every change so far is on disk; rejects when the write fails. */
  flush(): Promise<void>;
  /** Writes what is left and stops the batch timer. */
  close(): Promise<void>;
}

interface StoredMemo {
  memo: Record<string, unknown>;
  updatedAt: number;
}

/** One line of memos.log: a note as it was after change number `seq` (`memo: null`: deleted). */
interface LogLine {
  seq: number;
  notifier: string;
  key: string;
  memo: Record<string, unknown> | null;
  updatedAt: number;
}

type Memos = Map<string, Map<string, StoredMemo>>;

export interface MemoStoreOptions {
  clock?: Clock;
  flushDelayMs?: number;
}

/** Opens `<dir>/memos.json` and `<dir>/memos.log` (missing: empty; unreadable: set aside and logged). */
export async function openMemoStore(dir: string, logger: Logger, options: MemoStoreOptions = {}): Promise<DurableMemoStore> {
  const clock = options.clock ?? systemClock;
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'memos.json');
  const snapshot = await readSnapshot(file, logger);
  const log = await readLog(join(dir, 'memos.log'), snapshot.seq, snapshot.memos, logger);
  const now = clock.now();
  for (const [notifier, notes] of snapshot.memos) {
    for (const [key, stored] of notes) if (now - stored.updatedAt > MEMO_RETENTION_MS) notes.delete(key);
    if (notes.size === 0) snapshot.memos.delete(notifier);
  }
  const disk: DiskState = { seq: Math.max(snapshot.seq, log.seq), snapshotBytes: snapshot.bytes, logBytes: log.bytes };
  return new FileMemoStore(dir, snapshot.memos, disk, clock, logger, options.flushDelayMs ?? MEMO_FLUSH_DELAY_MS);
}

interface DiskState {
  /** The number of the newest change read back. */
  seq: number;
  snapshotBytes: number;
  logBytes: number;
}

class FileMemoStore implements DurableMemoStore {
  /** Number of the latest change; also the version flush() waits for. */
  private seq: number;
  private writtenSeq: number;
  /** Notes changed since the last write, as notifier → key → change number. */
  private dirty = new Map<string, Map<string, number>>();
  private snapshotBytes: number;
  private logBytes: number;
  /** The log may end in a torn line (a failed append, a crash): the next write replaces it. */
  private mustCompact: boolean;
  private writing: Promise<void> | undefined;
  private timer: TimerHandle | undefined;
  private closed = false;
  private readonly file: string;
  private readonly logFile: string;

  constructor(
    dir: string,
    private readonly memos: Memos,
    disk: DiskState,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly flushDelayMs: number,
  ) {
    this.file = join(dir, 'memos.json');
    this.logFile = join(dir, 'memos.log');
    this.seq = this.writtenSeq = disk.seq;
    this.snapshotBytes = disk.snapshotBytes;
    this.logBytes = disk.logBytes;
    this.mustCompact = disk.logBytes > 0; // fold what the last run logged in, once
  }

  get(notifier: string, key: string): Record<string, unknown> | undefined {
    const stored = this.memos.get(notifier)?.get(key);
    return stored === undefined ? undefined : structuredClone(stored.memo);
  }

  set(notifier: string, key: string, memo: Record<string, unknown>): void {
    let notes = this.memos.get(notifier);
    if (notes === undefined) this.memos.set(notifier, (notes = new Map()));
    notes.set(key, { memo: JSON.parse(JSON.stringify(memo)) as Record<string, unknown>, updatedAt: this.clock.now() });
    this.changed(notifier, key);
  }

  delete(notifier: string, key: string): void {
    const notes = this.memos.get(notifier);
    if (notes === undefined || !notes.delete(key)) return;
    if (notes.size === 0) this.memos.delete(notifier);
    this.changed(notifier, key);
  }

  entries(notifier: string): [string, Record<string, unknown>][] {
    return [...(this.memos.get(notifier) ?? [])].map(([key, stored]) => [key, structuredClone(stored.memo)]);
  }

  async flush(): Promise<void> {
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    for (let round = 0; round < 100 && this.writtenSeq < this.seq; round++) {
      if (this.writing === undefined) this.writing = this.write().finally(() => (this.writing = undefined));
      await this.writing;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private changed(notifier: string, key: string): void {
    this.seq++;
    let keys = this.dirty.get(notifier);
    if (keys === undefined) this.dirty.set(notifier, (keys = new Map()));
    keys.set(key, this.seq);
    if (this.timer === undefined && !this.closed) {
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        this.flush().catch((error: unknown) => this.logger.error({ file: this.file, error: errorMessage(error) }, 'could not save memos'));
      }, this.flushDelayMs);
    }
  }

  private async write(): Promise<void> {
    const seq = this.seq;
    if (this.mustCompact || this.logBytes > Math.max(MIN_COMPACT_BYTES, this.snapshotBytes)) await this.compact();
    else await this.append();
    this.writtenSeq = Math.max(this.writtenSeq, seq);
  }

  /** Appends the changed notes, as they are now, to the log. */
  private async append(): Promise<void> {
    const dirty = this.dirty;
    this.dirty = new Map();
    let text = '';
    for (const [notifier, keys] of dirty) {
      for (const [key, seq] of keys) {
        const stored = this.memos.get(notifier)?.get(key);
        const line: LogLine = { seq, notifier, key, memo: stored?.memo ?? null, updatedAt: stored?.updatedAt ?? this.clock.now() };
        text += `${JSON.stringify(line)}\n`;
      }
    }
    try {
      // Opened per flush (flushes are not on any latency path), so no handle outlives the store.
      const handle = await open(this.logFile, 'a', 0o600);
      try {
        await handle.appendFile(text);
        await handle.datasync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      this.mustCompact = true; // the log may end in a torn line now; a full snapshot holds these changes too
      throw error;
    }
    this.logBytes += Buffer.byteLength(text);
  }

  /** Writes every note to memos.json, then empties the log (its lines are all in the snapshot now). */
  private async compact(): Promise<void> {
    const seq = this.seq;
    const notifiers: Record<string, Record<string, StoredMemo>> = {};
    for (const [notifier, notes] of this.memos) notifiers[notifier] = Object.fromEntries(notes);
    const text = JSON.stringify({ version: 1, seq, memos: notifiers });
    this.dirty = new Map();
    this.mustCompact = true; // until both steps are done
    await writeFileAtomic(this.file, text);
    await truncate(this.logFile, 0).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    });
    this.mustCompact = false;
    this.snapshotBytes = Buffer.byteLength(text);
    this.logBytes = 0;
  }
}

async function readSnapshot(file: string, logger: Logger): Promise<{ memos: Memos; seq: number; bytes: number }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { memos: new Map(), seq: 0, bytes: 0 };
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as { seq?: unknown; memos?: Record<string, Record<string, StoredMemo>> };
    if (typeof parsed.memos !== 'object' || parsed.memos === null) throw new Error('no "memos" object');
    const memos: Memos = new Map();
    for (const [notifier, notes] of Object.entries(parsed.memos)) {
      const valid = Object.entries(notes).filter(([, stored]) => typeof stored?.memo === 'object' && typeof stored.updatedAt === 'number');
      memos.set(notifier, new Map(valid));
    }
    return { memos, seq: typeof parsed.seq === 'number' ? parsed.seq : 0, bytes: Buffer.byteLength(text) };
  } catch (error) {
    const aside = `${file}.corrupt`;
    await rename(file, aside).catch(() => {});
    logger.error({ file, movedTo: aside, error: errorMessage(error) }, 'memos file is unreadable; starting without memos');
    return { memos: new Map(), seq: 0, bytes: 0 };
  }
}

/** Replays the log's changes newer than the snapshot onto it; reading stops at a torn or broken line. */
async function readLog(file: string, snapshotSeq: number, memos: Memos, logger: Logger): Promise<{ seq: number; bytes: number }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { seq: 0, bytes: 0 };
    throw error;
  }
  let seq = 0;
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    if (raw === '') continue;
    const line = parseLogLine(raw);
    if (line === undefined) {
      // A crash mid-append leaves a torn last line; anything else is worth a word.
      if (index < lines.length - 1) logger.warn({ file, line: index + 1 }, 'memos log has an unreadable line; later changes in it are ignored');
      break;
    }
    seq = Math.max(seq, line.seq);
    if (line.seq <= snapshotSeq) continue;
    let notes = memos.get(line.notifier);
    if (line.memo === null) {
      notes?.delete(line.key);
      if (notes?.size === 0) memos.delete(line.notifier);
    } else {
      if (notes === undefined) memos.set(line.notifier, (notes = new Map()));
      notes.set(line.key, { memo: line.memo, updatedAt: line.updatedAt });
    }
  }
  return { seq, bytes: Buffer.byteLength(text) };
}

function parseLogLine(raw: string): LogLine | undefined {
  try {
    const line = JSON.parse(raw) as Partial<LogLine> | null;
    if (typeof line !== 'object' || line === null || typeof line.seq !== 'number' || typeof line.notifier !== 'string' || typeof line.key !== 'string') return undefined;
    if (typeof line.updatedAt !== 'number' || (line.memo !== null && typeof line.memo !== 'object')) return undefined;
    return line as LogLine;
  } catch {
    return undefined;
  }
}
