/**
 * `${VAR}` and `${VAR:-default}` in string values, replaced after YAML parsing so a variable can
 * never add YAML structure and every position still points into the file. `$${` is a literal `${`.
 */
import { isMap, isScalar, isSeq, parse as parseYaml, type Document, type Scalar } from 'yaml';
import type { ConfigPath, ConfigProblem } from './errors.js';

const REFERENCE = /\$\$\{|\$\{([^}\n]*)\}|\$\{/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

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

/** `path` is one array pushed and popped along the way, copied only where a reference is found. */
function walk(node: unknown, path: Array<string | number>, source: string, env: NodeJS.ProcessEnv, result: Interpolation): void {
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
  let referenceCount = 0;
  const replaced = text.replace(REFERENCE, (match: string, body: string | undefined) => {
    if (match === '$${') return '${';
    const offset = sourceStart + nthReference(sourceText, referenceCount++);
    const expansion = expand(match, body, env);
    if ('problem' in expansion) {
      result.problems.push({ path, offset, message: expansion.problem });
      return match;
    }
    return expansion.value;
  });
  node.value = replaced;
  if (/^\$\{[^}]*\}$/.test(text)) result.wholeValues.set(JSON.stringify(path), replaced);
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
  try {
    const value: unknown = parseYaml(text);
    return typeof value === 'number' || typeof value === 'boolean' ? value : undefined;
  } catch {
    return undefined;
  }
}
