import { isDeepStrictEqual } from 'node:util';
import { targetAddress } from './config/address.js';
import type { Config, Target } from './config/schema.js';

/** What a config reload changes about the targets, decided without touching anything. */
export interface ReloadPlan {
  added: Target[];
  removed: Target[];
  /** Settings changed: the schedule restarts; state is kept when `sameProbe` (type and address unchanged). */
  changed: Array<{ before: Target; after: Target; sameProbe: boolean }>;
  unchanged: Target[];
  /** Sections only read at start: changing them needs a restart, so they are reported and ignored. */
  needsRestart: RestartOnlySection[];
}

const RESTART_ONLY = ['server', 'state', 'maxConcurrentProbes', 'slack'] as const;
export type RestartOnlySection = (typeof RESTART_ONLY)[number];

export function planReload(current: Config, next: Config): ReloadPlan {
  const before = new Map(current.targets.map((target) => [target.name, target]));
  const plan: ReloadPlan = { added: [], removed: [], changed: [], unchanged: [], needsRestart: [] };
  for (const after of next.targets) {
    const old = before.get(after.name);
    if (!old) plan.added.push(after);
    else if (isDeepStrictEqual(old, after)) plan.unchanged.push(old);
    else plan.changed.push({ before: old, after, sameProbe: probeIdentity(old) === probeIdentity(after) });
    before.delete(after.name);
  }
  plan.removed.push(...before.values());
  for (const section of RESTART_ONLY) {
    if (!isDeepStrictEqual(current[section], next[section])) plan.needsRestart.push(section);
  }
  return plan;
}

/** A target is "the same thing probed" while its type and address stay. */
export function probeIdentity(target: Target): string {
  return `${target.type} ${targetAddress(target)}`;
}
