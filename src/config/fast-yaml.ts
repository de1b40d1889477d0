/**
 * js-yaml, set up to read a rules file exactly as the `yaml` library would, or to refuse it.
 * Refused (undefined): anything it might read differently or that needs a positioned error line:
 * a syntax error, tags, anchors, aliases, directives, not exactly one document, keys that are
 * not strings, duplicate keys, a carriage return that is not part of a CRLF, a line over 1024
 * characters (where a key might be too long for `yaml`).
 */
import {
  constructFromEvents,
  CORE_SCHEMA,
  defineMappingTag,
  defineScalarTag,
  EVENT_ID,
  NOT_RESOLVED,
  parseEvents,
  type Event,
} from 'js-yaml';
import { CORE_SCALAR_RULES, type CoreScalarRule } from './core-scalars.js';

const DIGITS = [...'0123456789'];

/** Plain scalars resolve by `yaml`'s rules; js-yaml's own differ at the edges (`1e400` is text to it). */
function coreTag(name: keyof typeof CORE_SCALAR_RULES, firstChars: readonly string[]) {
  const rules: CoreScalarRule[] = CORE_SCALAR_RULES[name];
  return defineScalarTag(`tag:yaml.org,2002:${name}`, {
    implicit: true,
    implicitFirstChars: firstChars,
    resolve: (source) => {
      for (const rule of rules) if (rule.test.test(source)) return rule.resolve(source);
      return NOT_RESOLVED;
    },
    identify: () => false,
  });
}

/** `{}` objects with string keys only; `__proto__` becomes an own key, as `yaml` makes it. */
const stringKeyMap = defineMappingTag<Record<string, unknown>>('tag:yaml.org,2002:map', {
  create: () => ({}),
  addPair: (map, key, value) => {
    if (typeof key !== 'string') return 'a key that is not a string';
    if (key === '__proto__') Object.defineProperty(map, key, { value, enumerable: true, configurable: true, writable: true });
    else map[key] = value;
    return '';
  },
  has: (map, key) => typeof key === 'string' && Object.hasOwn(map, key),
  keys: (map) => Object.keys(map),
  get: (map, key) => (typeof key === 'string' && Object.hasOwn(map, key) ? map[key] : null),
  identify: () => false,
});

const SCHEMA = CORE_SCHEMA.withTags(
  coreTag('null', ['', '~', 'n', 'N']),
  coreTag('bool', ['t', 'T', 'f', 'F']),
  coreTag('int', ['-', '+', ...DIGITS]),
  coreTag('float', ['-', '+', '.', ...DIGITS]),
  stringKeyMap,
);

const LONE_CARRIAGE_RETURN = /\r(?!\n)/;
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
  if (LONE_CARRIAGE_RETURN.test(text) || hasLongLine(text)) return undefined;
  try {
    const events = parseEvents(text, {});
    if (!isPlain(events)) return undefined;
    const documents = constructFromEvents(events, { source: text, schema: SCHEMA, maxAliases: 0 });
    return documents.length === 1 ? { data: documents[0] } : undefined;
  } catch {
    return undefined;
  }
}

function isPlain(events: Event[]): boolean {
  let documents = 0;
  for (const event of events) {
    switch (event.type) {
      case EVENT_ID.DOCUMENT:
        if (++documents > 1 || event.directives.length > 0) return false;
        break;
      case EVENT_ID.SCALAR:
      case EVENT_ID.SEQUENCE:
      case EVENT_ID.MAPPING:
        if (event.tagStart !== -1 || event.anchorStart !== -1) return false;
        break;
      case EVENT_ID.ALIAS:
        return false;
    }
  }
  return documents === 1;
}
