/** Which notifiers hear about a target. Pure. */
import type { Config, Target } from '../config/schema.js';

export type Route = Config['routes'][number];

/** True when every label in `match` is present on the target with the same value. */
export function labelsMatch(match: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(match).every(([key, value]) => labels[key] === value);
}

/** The target's own `notify` list, then the notifiers of every route whose labels it matches; no name twice. */
export function notifiersFor(target: Pick<Target, 'notify' | 'labels'>, routes: readonly Route[]): string[] {
  const names = [...target.notify];
  for (const route of routes) if (labelsMatch(route.match, target.labels)) names.push(...route.notify);
  return [...new Set(names)];
}
