/**
 * The durable outbox: every alert, every event collected for a group window and every DOWN held for
 * a dependency is on disk under `<stateDir>/outbox/` before anything is attempted, and stays until
 * it is delivered, refused or given up.
 *
 * Records are appended, one JSON line each, to a single open segment file (`<number>.log`) and
 * fdatasync'd; the records queued while one append runs go out together in the next one, so a
 * storm of 1,000 events costs a few syncs, and a lone alert one append and one fdatasync (the
 * directory is synced only when a segment is created). A removed record is noted in `removed.log`
 * (fdatasync'd only when a duplicate after a crash would matter). Once a segment is large and
 * mostly removed, the records still pending are copied into a fresh segment and the old one is
 * deleted, so disk use follows what is pending, not how long the bot has run. Opening does the
 * same with whatever a previous run left: segments (a torn last line from a crash mid-append is
 * ignored), batch files of the earlier `.json` layout, and half-written temporary files.
 */
import { constants } from 'node:fs';
import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { errorMessage, syncDirectory, writeFileAtomic } from '../atomic-file.js';
import type { Alert, AlertEvent } from './notifier.js';
import { JOURNAL, readLeftBehind, segmentName, type LeftBehind } from './outbox-recovery.js';

export { readOutbox } from './outbox-recovery.js';

/** An alert for one notifier, waiting to be delivered. */
export interface AlertRecord {
  kind: 'alert';
  id: string;
  seq: number;
  alert: Alert;
}

/** Events for one notifier that arrived while its group window was open. */
export interface CollectRecord {
  kind: 'collect';
  id: string;
  seq: number;
  notifier: string;
  events: AlertEvent[];
}

/** A target's events held while a dependency is failing but not yet confirmed DOWN. */
export interface HoldRecord {
  kind: 'hold';
  id: string;
  seq: number;
  target: string;
  since: number;
  events: AlertEvent[];
}

export type OutboxRecord = AlertRecord | CollectRecord | HoldRecord;
type WithoutSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;
export type NewOutboxRecord = WithoutSeq<OutboxRecord>;

export interface OutboxOptions {
  /** A segment this large whose pending records fill at most half of it is replaced by a fresh one. */
  segmentBytes?: number;
}

/** Records in one append at most. */
const MAX_BATCH = 2_000;
export const SEGMENT_BYTES = 1024 * 1024;
/** Create the segment (never reuse a leftover), and every write lands at its end. */
const NEW_SEGMENT_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND;

interface QueuedWrite {
  record: OutboxRecord;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface Segment {
  name: string;
  /** Opened at the first append, so an outbox that writes nothing holds no file open. */
  handle: FileHandle | undefined;
  bytes: number;
}

export class Outbox {
  private nextSeq: number;
  private nextSegment: number;
  private segment: Segment | undefined;
  /** Pending records by id, as their line in the segment, to copy into the next one. */
  private readonly live = new Map<string, string>();
  private liveBytes = 0;
  /** Ids removed from the records in the current segment: what the journal must keep saying. */
  private removedHere = new Set<string>();
  /** Files whose pending records are (or will be) in a newer segment: deleted after the next one is on disk. */
  private readonly stale: string[];
  /** The journal names records no file holds any more: rewrite it at the next segment change. */
  private journalNeedsRewrite: boolean;
  private rollFailed = false;
  private readonly writes = new Map<string, Promise<void>>();
  private queue: QueuedWrite[] = [];
  private draining: Promise<void> | undefined;
  private journal: FileHandle | undefined;
  private journalTail: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    private readonly logger: Logger,
    private readonly segmentBytes: number,
    found: LeftBehind,
  ) {
    for (const record of found.records) this.keep(record.id, `${JSON.stringify(record)}\n`);
    this.nextSeq = found.maxSeq + 1;
    this.nextSegment = found.maxSegment + 1;
    this.stale = found.files;
    this.journalNeedsRewrite = found.journalHasIds;
  }

  /** Opens (creating) the outbox and returns what was pending, oldest first. */
  static async open(dir: string, logger: Logger, options: OutboxOptions = {}): Promise<{ outbox: Outbox; records: OutboxRecord[] }> {
    await mkdir(dir, { recursive: true });
    const found = await readLeftBehind(dir, logger, true);
    const outbox = new Outbox(dir, logger, options.segmentBytes ?? SEGMENT_BYTES, found);
    await outbox.roll(); // everything pending into one fresh segment; the files it came from go
    return { outbox, records: found.records };
  }

  /** Queues a record for the next append; `durable` resolves once it is on disk (rejects if it could not be). */
  write(entry: NewOutboxRecord): { record: OutboxRecord; durable: Promise<void> } {
    const record = { ...entry, seq: this.nextSeq++ } as OutboxRecord;
    const durable = new Promise<void>((resolve, reject) => this.queue.push({ record, resolve, reject }));
    const settled = durable.then(() => {}, () => {});
    this.writes.set(record.id, settled);
    void settled.then(() => {
      if (this.writes.get(record.id) === settled) this.writes.delete(record.id);
    });
    this.draining ??= this.drain();
    return { record, durable };
  }

  /**
   * Removes records (after their writes, if still running). With `durable`, the removal is on disk
   * when this resolves: for records whose reappearance after a crash would duplicate an alert.
   */
  async remove(ids: readonly string[], options: { durable?: boolean } = {}): Promise<void> {
    await Promise.all(ids.map((id) => this.writes.get(id)));
    const noted: string[] = [];
    for (const id of ids) {
      const line = this.live.get(id);
      if (line === undefined) continue;
      this.live.delete(id);
      this.liveBytes -= Buffer.byteLength(line);
      this.removedHere.add(id);
      noted.push(id);
    }
    if (noted.length === 0) return;
    const done = this.note(noted, options.durable === true);
    this.rollFailed = false;
    if (this.shouldRoll()) this.draining ??= this.drain();
    await done;
  }

  /** Resolves once every queued write, segment change and journal note has finished. */
  async idle(): Promise<void> {
    for (let round = 0; round < 100; round++) {
      const tail = this.journalTail;
      await this.draining;
      await tail;
      if (this.draining === undefined && this.journalTail === tail) return;
    }
  }

  /** Closes the files (the outbox may be opened again later); a segment with nothing pending goes. */
  async close(): Promise<void> {
    await this.idle();
    await this.journal?.close();
    this.journal = undefined;
    const segment = this.segment;
    this.segment = undefined;
    if (segment === undefined) return;
    await segment.handle?.close();
    if (this.live.size > 0) this.stale.push(segment.name);
    else await unlink(join(this.dir, segment.name)).catch(() => {}); // if it comes back after a crash, the journal covers it
  }

  private async drain(): Promise<void> {
    try {
      for (let round = 0; round < 1_000_000 && (this.queue.length > 0 || this.shouldRoll()); round++) {
        let rollError: Error | undefined;
        if (this.shouldRoll()) {
          await this.roll().catch((error: unknown) => {
            rollError = asError(error);
            this.rollFailed = true;
            // Writes waiting for it fail with this error and their callers say so; otherwise say it here.
            if (this.queue.length === 0) this.logger.error({ dir: this.dir, error: rollError.message }, 'could not start a new outbox segment');
          });
        }
        const batch = this.queue.splice(0, MAX_BATCH);
        if (batch.length === 0) break;
        const segment = this.segment;
        if (segment === undefined) {
          for (const queued of batch) queued.reject(rollError ?? new Error('the outbox has no segment to write to'));
        } else await this.append(segment, batch);
      }
    } finally {
      this.draining = undefined;
    }
  }

  private async append(segment: Segment, batch: QueuedWrite[]): Promise<void> {
    const lines = batch.map((queued) => `${JSON.stringify(queued.record)}\n`);
    const text = lines.join('');
    try {
      segment.handle ??= await open(join(this.dir, segment.name), 'a', 0o600);
      await segment.handle.appendFile(text);
      await segment.handle.datasync(); // the data and the new size; mtime need not be durable
    } catch (error) {
      // The segment may end in a torn line now: never append to it again.
      if (this.segment === segment) this.segment = undefined;
      this.stale.push(segment.name);
      await segment.handle?.close().catch(() => {});
      for (const queued of batch) queued.reject(asError(error));
      return;
    }
    segment.bytes += Buffer.byteLength(text);
    batch.forEach((queued, index) => this.keep(queued.record.id, lines[index]!));
    for (const queued of batch) queued.resolve();
  }

  private keep(id: string, line: string): void {
    const previous = this.live.get(id);
    if (previous !== undefined) this.liveBytes -= Buffer.byteLength(previous);
    this.live.set(id, line);
    this.liveBytes += Buffer.byteLength(line);
  }

  /** A fresh segment is due: none is open, or the open one is large and mostly removed records. */
  private shouldRoll(): boolean {
    if (this.segment === undefined) return this.queue.length > 0 || (!this.rollFailed && (this.live.size > 0 || this.stale.length > 0));
    return !this.rollFailed && this.segment.bytes >= this.segmentBytes && this.liveBytes * 2 <= this.segment.bytes;
  }

  /**
   * Copies the pending records into a new segment, makes it durable, then deletes the old files
   * and drops from the journal what only concerned them. Runs inside drain (or open), so no
   * append happens meanwhile; removals may, and are kept.
   */
  private async roll(): Promise<void> {
    const carried = [...this.live];
    const name = segmentName(this.nextSegment++);
    const path = join(this.dir, name);
    const handle = await open(path, NEW_SEGMENT_FLAGS, 0o600);
    const text = carried.map(([, line]) => line).join('');
    try {
      if (text !== '') {
        await handle.appendFile(text);
        await handle.datasync();
      }
      await syncDirectory(this.dir); // the new name, and the deletions before it
    } catch (error) {
      await unlink(path).catch(() => {});
      throw error;
    } finally {
      await handle.close(); // appends reopen it
    }
    const previous = this.segment;
    this.segment = { name, handle: undefined, bytes: Buffer.byteLength(text) };
    this.removedHere = new Set(carried.map(([id]) => id).filter((id) => !this.live.has(id)));
    if (previous !== undefined) {
      this.stale.push(previous.name);
      await previous.handle?.close().catch(() => {});
    }
    if (await this.deleteStale()) await this.rewriteJournal();
  }

  /** Deletes the files the current segment replaced; true once none is left. */
  private async deleteStale(): Promise<boolean> {
    if (this.stale.length === 0) return true;
    const files = this.stale.splice(0);
    for (const file of files) {
      await unlink(join(this.dir, file)).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        this.stale.push(file);
        this.logger.error({ file, error: errorMessage(error) }, 'could not delete an old outbox file');
      });
    }
    if (this.stale.length > 0) return false;
    await syncDirectory(this.dir); // the journal may forget those records only once they are gone for good
    return true;
  }

  /** Replaces the journal with the removals that still matter, so it does not grow without end. */
  private async rewriteJournal(): Promise<void> {
    if (!this.journalNeedsRewrite) return;
    const rewritten = this.journalTail.then(async () => {
      await this.journal?.close();
      this.journal = undefined;
      await writeFileAtomic(join(this.dir, JOURNAL), [...this.removedHere].map((id) => `${id}\n`).join(''));
      this.journalNeedsRewrite = false;
    });
    this.journalTail = rewritten.catch((error: unknown) => this.logger.error({ dir: this.dir, error: errorMessage(error) }, 'could not rewrite the outbox journal'));
    await this.journalTail;
  }

  /** Appends removed ids to the journal, in order, fdatasync'd when asked. */
  private note(ids: string[], durable: boolean): Promise<void> {
    const text = ids.map((id) => `${id}\n`).join('');
    this.journalNeedsRewrite = true;
    const appended = this.journalTail.then(async () => {
      this.journal ??= await open(join(this.dir, JOURNAL), 'a', 0o600);
      await this.journal.appendFile(text);
      if (durable) await this.journal.datasync();
    });
    this.journalTail = appended.catch((error: unknown) => this.logger.error({ dir: this.dir, error: errorMessage(error) }, 'could not note removed outbox records'));
    return this.journalTail;
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

export interface PendingWork {
  /** Alerts per notifier, in order. */
  alerts: Map<string, AlertRecord[]>;
  /** Collected events per notifier, in order, minus those already in an alert. */
  collects: Map<string, CollectRecord[]>;
  /** Held events per target, minus those already passed on. */
  holds: Map<string, HoldRecord[]>;
  /** Records left with nothing in them: delete. */
  obsolete: string[];
}

/**
 * Sorts loaded records into work, dropping what a crash left behind twice: collected events
 * already copied into an alert of the same notifier, held events already passed on to a
 * notifier (their removal may not have reached the disk before the crash). Pure.
 */
export function pendingWork(records: readonly OutboxRecord[]): PendingWork {
  const work: PendingWork = { alerts: new Map(), collects: new Map(), holds: new Map(), obsolete: [] };
  const inAlerts = new Set<string>();
  const passedOn = new Set<string>();
  for (const record of records) {
    if (record.kind === 'alert') {
      push(work.alerts, record.alert.notifier, record);
      for (const event of record.alert.events) {
        inAlerts.add(`${record.alert.notifier}\n${event.id}`);
        passedOn.add(event.id);
      }
    } else if (record.kind === 'collect') {
      for (const event of record.events) passedOn.add(event.id);
    }
  }
  for (const record of records) {
    if (record.kind === 'collect') {
      const events = record.events.filter((event) => !inAlerts.has(`${record.notifier}\n${event.id}`));
      if (events.length === 0) work.obsolete.push(record.id);
      else push(work.collects, record.notifier, { ...record, events });
    } else if (record.kind === 'hold') {
      const events = record.events.filter((event) => !passedOn.has(event.id));
      if (events.length === 0) work.obsolete.push(record.id);
      else push(work.holds, record.target, { ...record, events });
    }
  }
  return work;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
