/**
 * Silences: "don't tell anyone about these targets until then". Created through the API (the
 * Slack command), persisted in `silences.json`, pruned once expired.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename } from 'node:fs/promises';
import type { Clock } from '../clock.js';
import type { Target } from '../config/schema.js';
import type { Logger } from '../log.js';
import { errorMessage, writeFileAtomic } from '../atomic-file.js';
import { labelsMatch } from './routing.js';

export interface SilenceMatcher {
  target?: string;
  labels?: Record<string, string>;
}

export interface Silence {
  /** Short, for people to type: 8 hex characters. */
  id: string;
  matcher: SilenceMatcher;
  /** Ends at, ms since the epoch. */
  until: number;
  reason: string;
  author: string;
  createdAt: number;
}

export interface SilenceInput {
  matcher: SilenceMatcher;
  until: number;
  reason: string;
  author: string;
}

/** Whether a silence covers a target: every part of its matcher must hold. */
export function silenceCovers(silence: Pick<Silence, 'matcher'>, target: Pick<Target, 'name' | 'labels'>): boolean {
  const { matcher } = silence;
  if (matcher.target !== undefined && matcher.target !== target.name) return false;
  return matcher.labels === undefined || labelsMatch(matcher.labels, target.labels);
}

export class SilenceStore {
  private silences: Silence[];
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
    loaded: Silence[],
  ) {
    this.silences = loaded;
  }

  /** Loads the file (missing: none; unreadable: set aside and logged). */
  static async open(file: string, clock: Clock, logger: Logger): Promise<SilenceStore> {
    return new SilenceStore(file, clock, logger, await readSilences(file, logger));
  }

  /** Adds a silence; throws an Error with a one-line message when the input makes no sense. */
  add(input: SilenceInput): Silence {
    const now = this.clock.now();
    const { target, labels } = input.matcher;
    if (target === undefined && (labels === undefined || Object.keys(labels).length === 0)) {
      throw new Error('a silence needs a target name or at least one label to match');
    }
    if (!Number.isFinite(input.until) || input.until <= now) throw new Error('a silence must end in the future');
    const matcher: SilenceMatcher = {};
    if (target !== undefined) matcher.target = target;
    if (labels !== undefined && Object.keys(labels).length > 0) matcher.labels = { ...labels };
    const silence: Silence = { id: this.newId(), matcher, until: input.until, reason: input.reason, author: input.author, createdAt: now };
    this.silences.push(silence);
    this.save();
    return silence;
  }

  /** Silences still in force, soonest ending first. */
  list(now = this.clock.now()): Silence[] {
    return this.silences.filter((silence) => silence.until > now).sort((a, b) => a.until - b.until);
  }

  /** Removes the silence with this id, or every silence on this target name; returns what went. */
  remove(idOrTarget: string): Silence[] {
    const removed = this.silences.filter((silence) => silence.id === idOrTarget || silence.matcher.target === idOrTarget);
    if (removed.length === 0) return [];
    this.silences = this.silences.filter((silence) => !removed.includes(silence));
    this.save();
    return removed;
  }

  /** The silence in force on this target, if any. */
  activeFor(target: Pick<Target, 'name' | 'labels'>, now: number): Silence | undefined {
    return this.silences.find((silence) => silence.until > now && silenceCovers(silence, target));
  }

  /** Drops and returns silences that have ended. */
  pruneExpired(now: number): Silence[] {
    const expired = this.silences.filter((silence) => silence.until <= now);
    if (expired.length === 0) return [];
    this.silences = this.silences.filter((silence) => silence.until > now);
    this.save();
    return expired;
  }

  /** When the next silence ends. */
  nextExpiry(): number | undefined {
    return this.silences.reduce<number | undefined>((soonest, silence) => (soonest === undefined || silence.until < soonest ? silence.until : soonest), undefined);
  }

  /** Resolves once every change so far is on disk. */
  flush(): Promise<void> {
    return this.saving;
  }

  private save(): void {
    const text = `${JSON.stringify({ version: 1, silences: this.silences }, null, 2)}\n`;
    this.saving = this.saving
      .then(() => writeFileAtomic(this.file, text))
      .catch((error: unknown) => this.logger.error({ file: this.file, error: errorMessage(error) }, 'could not save silences'));
  }

  private newId(): string {
    for (let tries = 0; tries < 100; tries++) {
      const id = randomBytes(4).toString('hex');
      if (!this.silences.some((silence) => silence.id === id)) return id;
    }
    return randomBytes(8).toString('hex');
  }
}

async function readSilences(file: string, logger: Logger): Promise<Silence[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as { silences?: unknown };
    if (!Array.isArray(parsed.silences)) throw new Error('no "silences" list');
    return parsed.silences.filter(isSilence);
  } catch (error) {
    const aside = `${file}.corrupt`;
    await rename(file, aside).catch(() => {});
    logger.error({ file, movedTo: aside, error: errorMessage(error) }, 'silences file is unreadable; starting without silences');
    return [];
  }
}

function isSilence(value: unknown): value is Silence {
  const silence = value as Partial<Silence> | null;
  return (
    typeof silence === 'object' && silence !== null &&
    typeof silence.id === 'string' && typeof silence.until === 'number' &&
    typeof silence.matcher === 'object' && silence.matcher !== null &&
    typeof silence.reason === 'string' && typeof silence.author === 'string'
  );
}
