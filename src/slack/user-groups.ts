/**
 * Members of the allowed user groups (`usergroups.users.list`), cached so a burst of commands
 * asks Slack once. A failed look-up falls back to the last answer for a while, then to "unknown"
 * (and access is refused: fail closed).
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { GroupMembers } from './access.js';

export type ListGroupMembers = (groupId: string) => Promise<string[]>;

export interface UserGroupCacheOptions {
  list: ListGroupMembers;
  clock: Clock;
  logger: Logger;
  /** How long an answer is used before asking again; default 5 minutes. */
  ttlMs?: number;
  /** How long an old answer still serves while Slack cannot be asked; default 1 hour. */
  staleForMs?: number;
}

interface Entry {
  members: ReadonlySet<string>;
  at: number;
}

export class UserGroupCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly ttlMs: number;
  private readonly staleForMs: number;

  constructor(private readonly options: UserGroupCacheOptions) {
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
    this.staleForMs = options.staleForMs ?? 60 * 60_000;
  }

  async members(groupIds: readonly string[]): Promise<GroupMembers> {
    await Promise.all(groupIds.filter((id) => this.isOld(id)).map((id) => this.refresh(id)));
    const now = this.options.clock.now();
    const result = new Map<string, ReadonlySet<string> | undefined>();
    for (const id of groupIds) {
      const entry = this.entries.get(id);
      result.set(id, entry !== undefined && now - entry.at <= this.ttlMs + this.staleForMs ? entry.members : undefined);
    }
    return result;
  }

  private isOld(id: string): boolean {
    const entry = this.entries.get(id);
    return entry === undefined || this.options.clock.now() - entry.at > this.ttlMs;
  }

  /** One look-up per group at a time, however many commands wait for it. */
  private refresh(id: string): Promise<void> {
    let running = this.inFlight.get(id);
    if (running === undefined) {
      running = this.options
        .list(id)
        .then((members) => {
          this.entries.set(id, { members: new Set(members), at: this.options.clock.now() });
        })
        .catch((error: unknown) => {
          this.options.logger.warn({ userGroup: id, error: (error as Error).message }, 'could not list the members of an allowed Slack user group');
        })
        .finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, running);
    }
    return running;
  }
}
