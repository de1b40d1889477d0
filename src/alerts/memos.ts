/**
 * The durable MemoStore notifiers keep per-incident notes in (Slack: channel + ts of a DOWN
 * message). Reads and writes are in memory; changes reach `memos.json` in batches (one atomic
 * write per flush, not one fsync per set), and the delivery engine flushes before it marks an
 * alert delivered, so a note made while delivering is on disk before the alert leaves the outbox.
 */
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import type { Logger } from '../log.js';
import { errorMessage, writeFileAtomic } from '../atomic-file.js';
import type { MemoStore } from './notifier.js';

/** How long after a change the batch is written, unless a flush comes first. */
export const MEMO_FLUSH_DELAY_MS = 1_000;
/** Notes untouched this long are dropped on open: their incidents are long over. */
export const MEMO_RETENTION_MS = 60 * 86_400_000;

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

export interface MemoStoreOptions {
  clock?: Clock;
  flushDelayMs?: number;
}

/** Opens `<dir>/memos.json` (missing: empty; unreadable: set aside and logged). */
export async function openMemoStore(dir: string, logger: Logger, options: MemoStoreOptions = {}): Promise<DurableMemoStore> {
  const clock = options.clock ?? systemClock;
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'memos.json');
  const memos = await readMemos(file, logger);
  const now = clock.now();
  for (const [notifier, notes] of memos) {
    for (const [key, stored] of notes) if (now - stored.updatedAt > MEMO_RETENTION_MS) notes.delete(key);
    if (notes.size === 0) memos.delete(notifier);
  }
  return new FileMemoStore(file, memos, clock, logger, options.flushDelayMs ?? MEMO_FLUSH_DELAY_MS);
}

class FileMemoStore implements DurableMemoStore {
  private version = 0;
  private writtenVersion = 0;
  private writing: Promise<void> | undefined;
  private timer: TimerHandle | undefined;
  private closed = false;

  constructor(
    private readonly file: string,
    private readonly memos: Map<string, Map<string, StoredMemo>>,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly flushDelayMs: number,
  ) {}

  get(notifier: string, key: string): Record<string, unknown> | undefined {
    const stored = this.memos.get(notifier)?.get(key);
    return stored === undefined ? undefined : structuredClone(stored.memo);
  }

  set(notifier: string, key: string, memo: Record<string, unknown>): void {
    let notes = this.memos.get(notifier);
    if (notes === undefined) this.memos.set(notifier, (notes = new Map()));
    notes.set(key, { memo: JSON.parse(JSON.stringify(memo)) as Record<string, unknown>, updatedAt: this.clock.now() });
    this.changed();
  }

  delete(notifier: string, key: string): void {
    const notes = this.memos.get(notifier);
    if (notes === undefined || !notes.delete(key)) return;
    if (notes.size === 0) this.memos.delete(notifier);
    this.changed();
  }

  entries(notifier: string): [string, Record<string, unknown>][] {
    return [...(this.memos.get(notifier) ?? [])].map(([key, stored]) => [key, structuredClone(stored.memo)]);
  }

  async flush(): Promise<void> {
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    for (let round = 0; round < 100 && this.writtenVersion < this.version; round++) {
      if (this.writing === undefined) this.writing = this.write().finally(() => (this.writing = undefined));
      await this.writing;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private changed(): void {
    this.version++;
    if (this.timer === undefined && !this.closed) {
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        this.flush().catch((error: unknown) => this.logger.error({ file: this.file, error: errorMessage(error) }, 'could not save memos'));
      }, this.flushDelayMs);
    }
  }

  private async write(): Promise<void> {
    const version = this.version;
    const notifiers: Record<string, Record<string, StoredMemo>> = {};
    for (const [notifier, notes] of this.memos) notifiers[notifier] = Object.fromEntries(notes);
    await writeFileAtomic(this.file, JSON.stringify({ version: 1, memos: notifiers }));
    this.writtenVersion = Math.max(this.writtenVersion, version);
  }
}

async function readMemos(file: string, logger: Logger): Promise<Map<string, Map<string, StoredMemo>>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as { memos?: Record<string, Record<string, StoredMemo>> };
    if (typeof parsed.memos !== 'object' || parsed.memos === null) throw new Error('no "memos" object');
    const memos = new Map<string, Map<string, StoredMemo>>();
    for (const [notifier, notes] of Object.entries(parsed.memos)) {
      const valid = Object.entries(notes).filter(([, stored]) => typeof stored?.memo === 'object' && typeof stored.updatedAt === 'number');
      memos.set(notifier, new Map(valid));
    }
    return memos;
  } catch (error) {
    const aside = `${file}.corrupt`;
    await rename(file, aside).catch(() => {});
    logger.error({ file, movedTo: aside, error: errorMessage(error) }, 'memos file is unreadable; starting without memos');
    return new Map();
  }
}
