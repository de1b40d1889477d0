/**
 * Reading what a previous run left in the outbox directory: segments (`<number>.log`, one record
 * per line), batch files of the earlier layout (`<seq>.json`), the journal of removed ids
 * (`removed.log`) and temporary files a killed write left behind.
 */
import { readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, TEMPORARY_SUFFIX } from '../atomic-file.js';
import { silentLogger, type Logger } from '../log.js';
import type { OutboxRecord } from './outbox.js';

export const JOURNAL = 'removed.log';
const SEGMENT = /^(\d{12})\.log$/;
/** Batch files of the layout before segments: read, never written. */
const BATCH_FILE = /^\d+\.json$/;

export function segmentName(number: number): string {
  return `${String(number).padStart(12, '0')}.log`;
}

/** What a previous run left in the directory. */
export interface LeftBehind {
  /** Pending records, oldest first, each once. */
  records: OutboxRecord[];
  /** Files holding records (to delete once the pending ones are in a new segment). */
  files: string[];
  maxSeq: number;
  maxSegment: number;
  /** The journal names removed records: rewrite it once their files are gone. */
  journalHasIds: boolean;
}

/**
 * Reads the directory. With `repair`, temporary files are deleted and unreadable files set aside
 * as `.corrupt` (logged once each); without, nothing on disk changes and unreadable files are skipped.
 */
export async function readLeftBehind(dir: string, logger: Logger, repair: boolean): Promise<LeftBehind> {
  const removed = await readJournal(join(dir, JOURNAL));
  const found: LeftBehind = { records: [], files: [], maxSeq: 0, maxSegment: 0, journalHasIds: removed.size > 0 };
  const pending = new Map<string, OutboxRecord>();
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    const number = /^(\d+)\.log/.exec(name)?.[1];
    if (number !== undefined) found.maxSegment = Math.max(found.maxSegment, Number(number));
    if (name.endsWith(TEMPORARY_SUFFIX)) {
      if (repair) await unlink(path).catch(() => {}); // a batch file cut short: nothing in it was acknowledged
      continue;
    }
    const isSegment = SEGMENT.test(name);
    if (!isSegment && !BATCH_FILE.test(name)) continue;
    let records: OutboxRecord[];
    try {
      records = isSegment ? await readSegment(path, logger) : await readBatchFile(path);
    } catch (error) {
      if (!repair) continue;
      await rename(path, `${path}.corrupt`).catch(() => {});
      logger.error({ file: path, error: errorMessage(error) }, 'outbox file is unreadable; set aside as .corrupt');
      continue;
    }
    found.files.push(name);
    for (const record of records) {
      found.maxSeq = Math.max(found.maxSeq, record.seq);
      // A crash while a new segment was being written can leave a record in two files.
      if (!removed.has(record.id) && !pending.has(record.id)) pending.set(record.id, record);
    }
  }
  found.records = [...pending.values()].sort((a, b) => a.seq - b.seq);
  return found;
}

/** The records pending in an outbox directory, oldest first, read without changing anything. */
export async function readOutbox(dir: string): Promise<OutboxRecord[]> {
  return (await readLeftBehind(dir, silentLogger(), false)).records;
}

/** One record per line; a last line cut short by a crash mid-append is ignored (it was never acknowledged). */
async function readSegment(path: string, logger: Logger): Promise<OutboxRecord[]> {
  const lines = (await readFile(path, 'utf8')).split('\n');
  const last = lines.pop()!; // '' when the file ends with a complete line
  const records = lines.map((line, index) => {
    const record = parseRecord(line);
    if (record === undefined) throw new Error(`line ${index + 1} is not an outbox record`);
    return record;
  });
  if (last !== '') {
    const record = parseRecord(last);
    if (record !== undefined) records.push(record);
    else logger.warn({ file: path }, 'outbox segment ends in a half-written record (a crash mid-write); ignored');
  }
  return records;
}

async function readBatchFile(path: string): Promise<OutboxRecord[]> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as { records?: unknown };
  if (!Array.isArray(parsed.records) || !parsed.records.every(isRecord)) throw new Error('not an outbox batch');
  return parsed.records;
}

function parseRecord(line: string): OutboxRecord | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
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
