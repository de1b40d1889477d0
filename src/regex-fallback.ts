/**
 * Patterns from the config (`bodyRegex`, `bodyNotRegex`, `expect.headers`, `replyRegex`) run on
 * what targets send, and V8's backtracking engine can take exponential time on some pairs of
 * pattern and text: `(a+)+$` on thirty "a"s and a "b" holds the event loop for a minute, every
 * other target waits, and no probe deadline can interrupt a match. blackbox_exporter and Gatus
 * use Go's RE2, which never backtracks.
 *
 * V8 can hand a match that backtracks too much (50,000 times) to its linear-time engine
 * (v8.dev/blog/non-backtracking-regexp). Off by default; these flags turn it on. V8 reads them
 * when it compiles a pattern, so they are set before the config is loaded. Patterns that
 * engine cannot run (lookarounds, backreferences, counted repeats above {16}) still backtrack:
 * `probebot check` and the log name them.
 */
import { setFlagsFromString } from 'node:v8';
import type { Target } from './config/schema.js';

/** The fallback, and the `l` flag that lets fallsBackToLinearTime() ask whether a pattern can use it. */
const FLAGS = ['--enable-experimental-regexp-engine-on-excessive-backtracks', '--enable-experimental-regexp-engine'];

export function enableLinearTimeFallback(): void {
  for (const flag of FLAGS) setFlagsFromString(flag);
}

/**
 * Whether the linear-time engine can run this pattern, so that a match that backtracks too much
 * is finished there. Before enableLinearTimeFallback() every pattern answers false.
 */
export function fallsBackToLinearTime(pattern: string): boolean {
  try {
    new RegExp(pattern, 'l');
    return true;
  } catch {
    return false;
  }
}

export interface BacktrackingPattern {
  target: string;
  /** Where it is in the target: `expect.bodyRegex`, `expect.headers.content-type`. */
  field: string;
  pattern: string;
}

/** The targets' patterns that cannot fall back to linear time, in config order. */
export function patternsWithoutFallback(targets: Iterable<Target>): BacktrackingPattern[] {
  const found: BacktrackingPattern[] = [];
  for (const target of targets) {
    for (const [field, pattern] of userPatterns(target)) {
      if (!fallsBackToLinearTime(pattern)) found.push({ target: target.name, field, pattern });
    }
  }
  return found;
}

/** One line for `probebot check`. */
export function describeBacktracking({ target, field, pattern }: BacktrackingPattern): string {
  return `target "${target}" ${field} /${pattern}/ cannot fall back to linear-time matching (it has a lookaround, a backreference or a repeat above {16}): a reply can make it backtrack for a long time, and no deadline interrupts a match`;
}

function userPatterns(target: Target): Array<[string, string]> {
  if (target.type === 'http') {
    const { bodyRegex, bodyNotRegex, headers } = target.expect;
    return [
      ...(bodyRegex === undefined ? [] : [['expect.bodyRegex', bodyRegex] as [string, string]]),
      ...(bodyNotRegex === undefined ? [] : [['expect.bodyNotRegex', bodyNotRegex] as [string, string]]),
      ...Object.entries(headers ?? {}).map(([name, pattern]): [string, string] => [`expect.headers.${name}`, pattern]),
    ];
  }
  if (target.type === 'tcp' && target.expect?.replyRegex !== undefined) return [['expect.replyRegex', target.expect.replyRegex]];
  return [];
}
