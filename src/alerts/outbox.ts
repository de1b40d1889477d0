/**
 * The durable outbox: every alert, every event collected for a group window and every DOWN held for
 * a dependency is on disk under `<stateDir>/outbox/` before anything is attempted, and stays until
 * it is delivered, refused or given up.
 *
 * Writes are group-committed: the records queued while one batch is being written go out together
 * as the next batch file (temp, fsync, rename, directory fsync), so a storm of 1,000 events costs a
 * few fsyncs, not a thousand. A batch file is deleted once all its records are; a record removed
 * from a file that still holds others is noted in `removed.log` (fsynced only when a duplicate
 * after a crash would matter), and filtered out on the next open.
 */
import { mkdir, open, readdir, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { errorMessage, syncDirectory, TEMPORARY_SUFFIX, writeFileAtomic } from '../atomic-file.js';
import type { Alert, AlertEvent } from './notifier.js';

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

const JOURNAL = 'removed.log';
/** Records in one batch file at most. */
const MAX_BATCH = 2_000;

interface QueuedWrite {
  record: OutboxRecord;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class Outbox {
  private nextSeq: number;
  private readonly fileOf = new Map<string, string>();
  private readonly liveIn = new Map<string, Set<string>>();
  private readonly writes = new Map<string, Promise<void>>();
  private queue: QueuedWrite[] = [];
  private draining: Promise<void> | undefined;
  private journal: FileHandle | undefined;
  private journalTail: Promise<void> = Promise.resolve();

  private constructor(readonly dir: string, private readonly logger: Logger, files: Map<string, OutboxRecord[]>) {
    let maxSeq = 0;
    for (const [file, records] of files) {
      this.liveIn.set(file, new Set(records.map((record) => record.id)));
      for (const record of records) {
        this.fileOf.set(record.id, file);
        maxSeq = Math.max(maxSeq, record.seq);
      }
    }
    this.nextSeq = maxSeq + 1;
  }

  /** Opens (creating) the outbox and returns what was pending, oldest first. */
  static async open(dir: string, logger: Logger): Promise<{ outbox: Outbox; records: OutboxRecord[] }> {
    await mkdir(dir, { recursive: true });
    const removed = await readJournal(join(dir, JOURNAL));
    const files = new Map<string, OutboxRecord[]>();
    const stillRelevant: string[] = [];
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      if (name.endsWith(TEMPORARY_SUFFIX)) {
        await unlink(path).catch(() => {}); // a batch cut short: nothing in it was acknowledged
        continue;
      }
      if (!name.endsWith('.json')) continue;
      try {
        const parsed = JSON.parse(await readFile(path, 'utf8')) as { records?: unknown };
        if (!Array.isArray(parsed.records) || !parsed.records.every(isRecord)) throw new Error('not an outbox batch');
        const live = parsed.records.filter((record) => !removed.has(record.id));
        if (live.length === 0) await unlink(path);
        else {
          files.set(name, live);
          for (const record of parsed.records) if (removed.has(record.id)) stillRelevant.push(record.id);
        }
      } catch (error) {
        await rename(path, `${path}.corrupt`).catch(() => {});
        logger.error({ file: path, error: errorMessage(error) }, 'outbox file is unreadable; set aside as .corrupt');
      }
    }
    // Keep only the removals that still matter, so the journal does not grow across restarts.
    await writeFileAtomic(join(dir, JOURNAL), stillRelevant.map((id) => `${id}\n`).join(''));
    const records = [...files.values()].flat().sort((a, b) => a.seq - b.seq);
    return { outbox: new Outbox(dir, logger, files), records };
  }

  /** Queues a record for the next batch; `durable` resolves once it is on disk (rejects if it could not be). */
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
    const emptied: string[] = [];
    const noted: string[] = [];
    for (const id of ids) {
      const file = this.fileOf.get(id);
      if (file === undefined) continue;
      this.fileOf.delete(id);
      const live = this.liveIn.get(file);
      live?.delete(id);
      if (live !== undefined && live.size === 0) {
        this.liveIn.delete(file);
        emptied.push(file);
      } else noted.push(id);
    }
    const work: Promise<void>[] = [];
    if (noted.length > 0) work.push(this.note(noted, options.durable === true));
    if (emptied.length > 0) work.push(this.deleteFiles(emptied, options.durable === true));
    await Promise.all(work);
  }

  /** Resolves once every queued write and journal note has finished. */
  async idle(): Promise<void> {
    await this.draining;
    await this.journalTail;
  }

  /** Closes the journal (the outbox may be opened again later). */
  async close(): Promise<void> {
    await this.idle();
    await this.journal?.close();
    this.journal = undefined;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        const file = `${String(batch[0]!.record.seq).padStart(12, '0')}.json`;
        try {
          await writeFileAtomic(join(this.dir, file), JSON.stringify({ records: batch.map((queued) => queued.record) }));
          this.liveIn.set(file, new Set(batch.map((queued) => queued.record.id)));
          for (const queued of batch) this.fileOf.set(queued.record.id, file);
          for (const queued of batch) queued.resolve();
        } catch (error) {
          for (const queued of batch) queued.reject(error instanceof Error ? error : new Error(String(error)));
        }
      }
    } finally {
      this.draining = undefined;
    }
  }

  /** Appends removed ids to the journal, in order, fsynced when asked. */
  private note(ids: string[], durable: boolean): Promise<void> {
    const text = ids.map((id) => `${id}\n`).join('');
    const appended = this.journalTail.then(async () => {
      this.journal ??= await open(join(this.dir, JOURNAL), 'a', 0o600);
      await this.journal.write(text);
      if (durable) await this.journal.sync();
    });
    this.journalTail = appended.catch((error: unknown) => this.logger.error({ dir: this.dir, error: errorMessage(error) }, 'could not note removed outbox records'));
    return this.journalTail;
  }

  private async deleteFiles(files: string[], durable: boolean): Promise<void> {
    for (const file of files) {
      await unlink(join(this.dir, file)).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.logger.error({ file, error: errorMessage(error) }, 'could not delete outbox file');
      });
    }
    if (durable) await syncDirectory(this.dir).catch(() => {});
    if (this.liveIn.size === 0) await this.truncateJournal();
  }

  /** Nothing is pending: the removals noted so far no longer matter. */
  private truncateJournal(): Promise<void> {
    const truncated = this.journalTail.then(async () => {
      if (this.liveIn.size === 0 && this.journal !== undefined) await this.journal.truncate(0);
    });
    this.journalTail = truncated.catch((error: unknown) => this.logger.error({ dir: this.dir, error: errorMessage(error) }, 'could not truncate the outbox journal'));
    return this.journalTail;
  }
}

async function readJournal(path: string): Promise<Set<string>> {
  try {
    return new Set((await readFile(path, 'utf8')).split('\n').filter((line) => line !== ''));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw error;
  }
}

function isRecord(value: unknown): value is OutboxRecord {
  const record = value as Partial<OutboxRecord> | null;
  if (typeof record !== 'object' || record === null || typeof record.id !== 'string' || typeof record.seq !== 'number') return false;
  switch (record.kind) {
    case 'alert':
      return typeof record.alert === 'object' && record.alert !== null && Array.isArray(record.alert.events);
    case 'collect':
      return typeof record.notifier === 'string' && Array.isArray(record.events);
    case 'hold':
      return typeof record.target === 'string' && Array.isArray(record.events);
    default:
      return false;
  }
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
