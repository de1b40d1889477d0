/**
 * Dependencies as Nagios parents: while a target's dependency is DOWN, its own DOWN is folded into
 * the dependency's alert instead of paging on its own. Pure.
 */
import type { Target } from '../config/schema.js';
import type { TargetStatus } from '../monitor/types.js';

export type StatusLookup = (target: string) => TargetStatus | undefined;

export type DependencyVerdict =
  /** No dependency is down or about to be: the DOWN stands on its own. */
  | { kind: 'independent' }
  /** A dependency is DOWN: fold into its alert. */
  | { kind: 'fold'; dependency: string }
  /** A dependency is failing but not confirmed DOWN yet (or not probed yet): wait for its verdict. */
  | { kind: 'hold'; dependencies: string[] };

export function dependencyVerdict(dependsOn: readonly string[], statusOf: StatusLookup): DependencyVerdict {
  const down = dependsOn.find((name) => statusOf(name)?.state === 'DOWN');
  if (down !== undefined) return { kind: 'fold', dependency: down };
  const pending = dependsOn.filter((name) => {
    const status = statusOf(name);
    return status !== undefined && (status.state === 'UNKNOWN' || status.consecutiveFailures > 0);
  });
  return pending.length > 0 ? { kind: 'hold', dependencies: pending } : { kind: 'independent' };
}

/** For each target, the targets that depend on it. */
export function dependentsIndex(targets: readonly Pick<Target, 'name' | 'dependsOn'>[]): Map<string, string[]> {
  const index = new Map<string, string[]>();
  for (const target of targets) {
    for (const dependency of target.dependsOn) {
      const dependents = index.get(dependency) ?? [];
      dependents.push(target.name);
      index.set(dependency, dependents);
    }
  }
  return index;
}

/** After a dependency recovered, how long to wait for a folded dependent's own evidence. */
export const RECHECK_LIMIT_MS = 5 * 60_000;

export type RecheckVerdict = 'announce' | 'wait' | 'drop';

/**
 * Whether a dependent whose DOWN was folded is really still down now that its dependency is back:
 * a probe that started after the recovery and failed says so; its own recovery (announced no
 * longer DOWN) makes the question moot. Without any new result, announce after RECHECK_LIMIT_MS.
 */
export function recheckAfterRecovery(status: TargetStatus | undefined, recoveredAt: number, now: number): RecheckVerdict {
  if (status === undefined || status.announced !== 'DOWN') return 'drop';
  const last = status.lastResult;
  if (last !== undefined && last.at >= recoveredAt && !last.ok) return 'announce';
  return now - recoveredAt >= RECHECK_LIMIT_MS ? 'announce' : 'wait';
}
