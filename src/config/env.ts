/**
 * `${VAR}` and `${VAR:-default}` in string values, replaced after YAML parsing so a variable can
 * never add YAML structure and every position still points into the file. `$${` is a literal `${`.
 */
import type { Document, Scalar } from 'yaml';
import { coreScalar } from './core-scalars.js';
import type { ConfigPath, ConfigProblem } from './errors.js';
import { yamlLibrary } from './yaml-library.js';

const REFERENCE = /\$\$\{|\$\{([^}\n]*)\}|\$\{/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const WHOLE_VALUE = /^\$\{[^}]*\}$/;

export interface Interpolation {
  problems: ConfigProblem[];
  /** Values that were exactly one `${…}`, by JSON path: these may stand for a number or boolean. */
  wholeValues: Map<string, string>;
}

/** Replaces references in every string value of the document, in place. */
export function interpolateEnv(doc: Document, source: string, env: NodeJS.ProcessEnv): Interpolation {
  const result: Interpolation = { problems: [], wholeValues: new Map() };
  walk(doc.contents, [], source, env, result);
  return result;
}

/**
 * The same substitution on plain parsed data (the fast path), in place. Undefined at the first
 * problem: the positioned path then reports it.
 */
export function interpolateEnvInData(data: unknown, env: NodeJS.ProcessEnv): Map<string, string> | undefined {
  const wholeValues = new Map<string, string>();
  return walkData(data, [], env, wholeValues) ? wholeValues : undefined;
}

function walkData(node: unknown, path: Array<string | number>, env: NodeJS.ProcessEnv, wholeValues: Map<string, string>): boolean {
  if (typeof node !== 'object' || node === null) return true;
  const entries = node as Record<string | number, unknown>;
  for (const key of Array.isArray(node) ? node.keys() : Object.keys(node)) {
    const value = entries[key];
    if (typeof value === 'string' && !value.includes('${')) continue;
    path.push(key);
    let ok: boolean;
    if (typeof value === 'string') {
      const replaced = substituteText(value, path, env, wholeValues);
      if (replaced !== undefined) entries[key] = replaced;
      ok = replaced !== undefined;
    } else {
      ok = walkData(value, path, env, wholeValues);
    }
    path.pop();
    if (!ok) return false;
  }
  return true;
}

function substituteText(text: string, path: ConfigPath, env: NodeJS.ProcessEnv, wholeValues: Map<string, string>): string | undefined {
  let failed = false;
  const replaced = replaceReferences(text, env, () => (failed = true));
  if (failed) return undefined;
  if (WHOLE_VALUE.test(text)) wholeValues.set(JSON.stringify(path), replaced);
  return replaced;
}

/** `path` is one array pushed and popped along the way, copied only where a reference is found. */
function walk(node: unknown, path: Array<string | number>, source: string, env: NodeJS.ProcessEnv, result: Interpolation): void {
  const { isMap, isScalar, isSeq } = yamlLibrary();
  if (isMap(node)) {
    for (const pair of node.items) {
      path.push(isScalar(pair.key) ? String(pair.key.value) : String(pair.key));
      walk(pair.value, path, source, env, result);
      path.pop();
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => {
      path.push(index);
      walk(item, path, source, env, result);
      path.pop();
    });
  } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
    substitute(node, node.value, [...path], source, env, result);
  }
}

function substitute(node: Scalar, text: string, path: ConfigPath, source: string, env: NodeJS.ProcessEnv, result: Interpolation): void {
  const sourceText = node.range ? source.slice(node.range[0], node.range[1]) : '';
  const sourceStart = node.range?.[0] ?? 0;
  const replaced = replaceReferences(text, env, (reference, message) => {
    result.problems.push({ path, offset: sourceStart + nthReference(sourceText, reference), message });
  });
  node.value = replaced;
  if (WHOLE_VALUE.test(text)) result.wholeValues.set(JSON.stringify(path), replaced);
}

/**
 * The text with every reference expanded; a reference that cannot be (the nth, counting from 0)
 * is kept as written and passed to onProblem.
 */
function replaceReferences(text: string, env: NodeJS.ProcessEnv, onProblem: (reference: number, message: string) => void): string {
  let referenceCount = 0;
  return text.replace(REFERENCE, (match: string, body: string | undefined) => {
    if (match === '$${') return '${';
    const reference = referenceCount++;
    const expansion = expand(match, body, env);
    if ('problem' in expansion) {
      onProblem(reference, expansion.problem);
      return match;
    }
    return expansion.value;
  });
}

function expand(match: string, body: string | undefined, env: NodeJS.ProcessEnv): { value: string } | { problem: string } {
  if (body === undefined) return { problem: 'unclosed "${"; write $${ for a literal ${' };
  const separator = body.indexOf(':-');
  const name = separator === -1 ? body : body.slice(0, separator);
  if (!NAME.test(name)) return { problem: `"${match}" is not a variable reference like \${NAME} or \${NAME:-default}; write $\${ for a literal \${` };
  const value = env[name];
  // Like the shell's ${NAME:-default}: an empty variable counts as unset.
  if (separator !== -1 && (value === undefined || value === '')) return { value: body.slice(separator + 2) };
  if (value === undefined) return { problem: `environment variable ${name} is not set` };
  return { value };
}

/** Offset in the scalar's source of its nth `${` reference (skipping `$${` escapes). */
function nthReference(sourceText: string, n: number): number {
  let seen = 0;
  for (const match of sourceText.matchAll(REFERENCE)) {
    if (match[0] === '$${') continue;
    if (seen++ === n) return match.index;
  }
  return 0;
}

/**
 * A whole-value `${DB_PORT}` read as YAML would read the same text written in place: "5432" is a
 * number, "true" a boolean. Undefined when the text is neither.
 */
export function scalarFromEnv(text: string): number | boolean | undefined {
  // A bare token (5432, true, 0x1F) needs no parser; anything else (" 5432", "5 # note") does.
  const plain = coreScalar(text);
  if (plain !== undefined) return plain.value ?? undefined;
  try {
    const value: unknown = yamlLibrary().parse(text);
    return typeof value === 'number' || typeof value === 'boolean' ? value : undefined;
  } catch {
    return undefined;
  }
}
