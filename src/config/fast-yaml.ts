/**
 * js-yaml, set up to read a rules file exactly as the `yaml` library would, or to refuse it.
 * Refused (undefined): anything it might read differently or that needs a positioned error line:
 * a syntax error, tags, anchors, aliases, directives, explicit `?` keys, keys that are not
 * strings, not exactly one document, duplicate keys, a carriage return that is not part of a
 * CRLF, a line over 1024 characters (where a key might be too long for `yaml`).
 * js-yaml 4 builds the values as it reads, where 5 first lists every event: twice as fast on a
 * 10,000-target file, with far less garbage to collect.
 */
import { load, Schema, Type } from 'js-yaml';
import { CORE_SCALAR_RULES, type CoreScalarRule } from './core-scalars.js';

/**
 * Plain scalars resolve by `yaml`'s rules; js-yaml's own differ at the edges (`1e400` is text to
 * it). js-yaml passes the tag only for an explicit one (`!!int 1`): that is refused. It calls
 * construct right after a resolve that matched, so the matching rule is kept in between.
 */
function coreType(tag: string, rules: CoreScalarRule[]): Type {
  let matched: CoreScalarRule | undefined;
  return new Type(tag, {
    kind: 'scalar',
    resolve: (text: string | null, explicitTag?: string) => {
      matched = explicitTag === undefined && text !== null ? rules.find((rule) => rule.test.test(text)) : undefined;
      return matched !== undefined;
    },
    construct: (text: string) => matched!.resolve(text),
  });
}

const CORE_TAGS = (['null', 'bool', 'int', 'float'] as const).map((name) => ({ tag: `tag:yaml.org,2002:${name}`, rules: CORE_SCALAR_RULES[name] }));
const SCHEMA = new Schema({ implicit: CORE_TAGS.map(({ tag, rules }) => coreType(tag, rules)), explicit: [] });
/** A node's tag after reading: none (quoted, collection), `?` (a plain string) or a core scalar's. */
const RESOLVED_TAGS = new Set<string | null>([null, '?', ...CORE_TAGS.map(({ tag }) => tag)]);

/** Thrown from inside js-yaml to stop reading; never escapes readPlainYaml. */
const REFUSED = new Error('refused');

/** What js-yaml's listener is given; its published types leave out the tag and anchor. */
interface NodeState {
  input: string;
  position: number;
  tag: string | null;
  anchor: string | null;
  kind: string | null;
  result: unknown;
}

/** Runs after each node is read: refuses what `yaml` might read differently. */
function checkNode(event: 'open' | 'close', state: NodeState): void {
  if (event !== 'close') return;
  const { input, position, result } = state;
  if (state.anchor !== null || !RESOLVED_TAGS.has(state.tag)) throw REFUSED;
  if (typeof result !== 'string' && isImplicitKey(input, position)) throw REFUSED;
  // `{[a], ~}`: keys without a `:` have null values. js-yaml stringifies such keys its own way.
  if (state.kind === 'mapping' && input[position - 1] === '}' && hasNullValue(result as object)) throw REFUSED;
}

function hasNullValue(map: object): boolean {
  for (const value of Object.values(map)) if (value === null) return true;
  return false;
}

/** Whether the node that ends here is a key: a `:` follows it on the same line. */
function isImplicitKey(input: string, end: number): boolean {
  let at = end;
  while (input[at] === ' ' || input[at] === '\t') at++;
  return input[at] === ':';
}

const LONE_CARRIAGE_RETURN = /\r(?!\n)/;
/** `%YAML 1.1` would switch `yaml` to another schema; `%TAG` to other tags. */
const DIRECTIVE = /^%/m;
/** `? key`: an explicit key may be empty or a collection, and js-yaml stringifies those its own way. */
const EXPLICIT_KEY = /(?:^|[\s,[{])\?(?:[\s]|$)/m;
/** `yaml` refuses an implicit key longer than YAML's 1024-character limit; js-yaml does not check. */
const MAX_LINE = 1024;

/** Whether a line is long enough to hold an over-long key (by far the cheapest exact-enough test). */
function hasLongLine(text: string): boolean {
  let start = 0;
  for (let end = text.indexOf('\n'); ; end = text.indexOf('\n', start)) {
    if ((end === -1 ? text.length : end) - start > MAX_LINE) return true;
    if (end === -1) return false;
    start = end + 1;
  }
}

/** The file as plain data, or undefined when it must go the positioned `yaml` way. */
export function readPlainYaml(text: string): { data: unknown } | undefined {
  // A carriage return without a line feed ends a line for js-yaml but not for `yaml`.
  if (LONE_CARRIAGE_RETURN.test(text) || DIRECTIVE.test(text) || EXPLICIT_KEY.test(text) || hasLongLine(text)) return undefined;
  try {
    const data = load(text, { schema: SCHEMA, listener: checkNode as never });
    return data === undefined ? undefined : { data };
  } catch {
    return undefined;
  }
}
