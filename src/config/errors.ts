/**
 * Config problems as people read them: one line each, `rules.yaml:14:5 targets[2].port: must be
 * an integer 1-65535`. Zod's issues are turned into these short messages here and nowhere else.
 */
import type { z } from 'zod';

/** Where a value sits in the parsed file: `['targets', 2, 'port']`. */
export type ConfigPath = ReadonlyArray<string | number>;

export interface ConfigProblem {
  path: ConfigPath;
  message: string;
  /** The problem is this key of the mapping at `path` (an unknown key): point at the key itself. */
  key?: string;
  /** The exact source offset, when known better than the node (a `${VAR}` inside a string). */
  offset?: number;
}

export interface SourcePosition {
  line: number;
  col: number;
}

/** Thrown by loadConfig/parseConfig: every problem found, one line each, in file order. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'PROBEBOT_CONFIG_INVALID';
  readonly lines: string[];

  constructor(lines: string[], options?: { cause?: unknown }) {
    super(lines.join('\n'), options);
    this.lines = lines;
  }
}

/** `targets[2].expect.status[0]`, `notifiers.pd.routingKey`, `targets[0].headers["X Api"]`. */
export function formatPath(path: ConfigPath): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(part)) text += text === '' ? part : `.${part}`;
    else text += `[${JSON.stringify(part)}]`;
  }
  return text;
}

/** Longest path or message in a problem line: a garbage file's key or token can be megabytes long. */
const MAX_PART_CHARS = 200;

/** One line: `file:line:col path: message`, leaving out what is not known. */
export function formatProblemLine(file: string, position: SourcePosition | undefined, path: ConfigPath, message: string): string {
  const where = position ? `${file}:${position.line}:${position.col}` : file;
  const pathText = clip(formatPath(path));
  return pathText === '' ? `${where}: ${clip(message)}` : `${where} ${pathText}: ${clip(message)}`;
}

/** The text cut to `max` characters, ending in "…" when cut. */
export function clip(text: string, max = MAX_PART_CHARS): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * ` (did you mean "failureThreshold"?)` when a candidate is close, else ''. Close is at most two
 * edits (a swap of neighbours counts as one), and only one for short words, where two edits
 * turn almost anything into anything.
 */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const limit = Math.min(2, Math.max(1, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase(), bestDistance);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

/** Optimal string alignment distance, or `cap` when it is at least that. */
function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) distance = Math.min(distance, rows[i - 2]![j - 2]! + 1);
      row.push(distance);
    }
    rows.push(row);
  }
  return Math.min(cap, rows[a.length]![b.length]!);
}

type RawIssue = z.core.$ZodRawIssue;

/**
 * Validation options for `safeParse` that give every issue a short message (a message written
 * in the schema wins), and a way to turn the resulting issues into problems.
 */
export function issueReader(): {
  parseOptions: { error: z.core.$ZodErrorMap; reportInput: true };
  problems: (issues: readonly z.core.$ZodIssue[]) => ConfigProblem[];
} {
  // Unknown-key issues do not carry the keys that were expected; note them while zod still has the schema.
  const knownKeys = new Map<string, string[]>();
  const error: z.core.$ZodErrorMap = (issue) => {
    if (issue.code === 'unrecognized_keys') knownKeys.set(JSON.stringify(issue.path ?? []), shapeKeys(issue.inst));
    return shortMessage(issue);
  };
  const problems = (issues: readonly z.core.$ZodIssue[]) =>
    issues.flatMap((issue) => issueProblems(issue, knownKeys.get(JSON.stringify(issue.path)) ?? []));
  return { parseOptions: { error, reportInput: true }, problems };
}

function shapeKeys(inst: RawIssue['inst']): string[] {
  const shape = (inst?._zod.def as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

function issueProblems(issue: z.core.$ZodIssue, knownKeys: string[]): ConfigProblem[] {
  const path = issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part));
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path, key, message: `unknown key "${key}"${didYouMean(key, knownKeys)}` }));
    case 'invalid_key': {
      // The path ends with the offending key; report it on the mapping that holds it.
      const key = String(path[path.length - 1]);
      const reason = issue.issues[0]?.message ?? 'is not an allowed key';
      return [{ path: path.slice(0, -1), key, message: `key "${key}" is not allowed: ${reason}` }];
    }
    case 'invalid_union':
      if (issue.discriminator !== undefined && 'options' in issue && issue.options !== undefined) {
        const options = issue.options.map(String).join(', ');
        const given = (input as Record<string, unknown> | undefined)?.[issue.discriminator];
        // The discriminator is already the last part of the path.
        return [{ path, message: given === undefined ? `is required: one of ${options}` : `must be one of ${options}` }];
      }
      return [{ path, message: issue.message }];
    case 'invalid_type':
      if (input === undefined) return [{ path, message: 'is required' }];
      if (input === null) return [{ path, message: `is empty (${issue.message})` }];
      return [{ path, message: issue.message + quotedValueHint(issue.expected, input) }];
    default:
      return [{ path, message: issue.message }];
  }
}

/** `port: "80"`: the quotes make it a string. */
function quotedValueHint(expected: string, input: unknown): string {
  if (typeof input !== 'string') return '';
  const trimmed = input.trim();
  const isNumber = trimmed !== '' && Number.isFinite(Number(trimmed));
  const wanted = expected === 'boolean' ? trimmed === 'true' || trimmed === 'false' : (expected === 'number' || expected === 'int') && isNumber;
  return wanted ? ` (found the string "${input}"; remove the quotes)` : '';
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

/** The short form of an issue the schema wrote no message for. */
function shortMessage(issue: RawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case 'too_small':
      return sizeMessage('at least', 'more than', issue.origin, issue.minimum, issue.inclusive);
    case 'too_big':
      return sizeMessage('at most', 'less than', issue.origin, issue.maximum, issue.inclusive);
    case 'invalid_value':
      return issue.values.length === 1 ? `must be ${JSON.stringify(issue.values[0])}` : `must be one of ${issue.values.map(String).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'regex' && issue.pattern ? `must match ${issue.pattern}` : `must be a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'unrecognized_keys':
      return `unknown keys: ${issue.keys.join(', ')}`;
    case 'invalid_key':
      return 'is not an allowed key';
    case 'invalid_union':
      return 'does not match any allowed form';
    case 'invalid_element':
      return 'has an invalid entry';
    default:
      return 'is invalid';
  }
}

function sizeMessage(inclusiveWord: string, exclusiveWord: string, origin: string, limit: number | bigint, inclusive?: boolean): string {
  const bound = `${inclusive === false ? exclusiveWord : inclusiveWord} ${String(limit)}`;
  if (origin === 'array' || origin === 'set') return `must have ${bound} item${limit === 1 ? '' : 's'}`;
  if (origin === 'string') return limit === 1 && inclusiveWord === 'at least' ? 'must not be empty' : `must be ${bound} characters long`;
  return `must be ${bound}`;
}
