/**
 * rules.yaml → Config: read, parse YAML (keeping positions), substitute `${ENV}`, validate against
 * the schema and the cross-field checks, and report every problem at once as a ConfigError.
 * A valid file takes the fast path (fast-load.ts); only a file it refuses pays for `yaml`.
 */
import type { Document, LineCounter } from 'yaml';
import { crossFieldProblems } from './checks.js';
import { interpolateEnv } from './env.js';
import { clip, ConfigError, formatProblemLine, type ConfigProblem, type SourcePosition } from './errors.js';
import { parseValidConfig } from './fast-load.js';
import { problemPosition } from './positions.js';
import { readConfigText } from './read-file.js';
import { resolveConfig } from './resolve.js';
import type { Config } from './schema.js';
import { validateSchema } from './validate.js';
import { yamlLibrary } from './yaml-library.js';

export async function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  return parseConfig(await readConfigText(path), path, env);
}

/** Parses and validates config text; `file` is only used to name the file in error lines. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  return parseValidConfig(text, env) ?? parseConfigWithPositions(text, file, env);
}

/**
 * The thorough path: `yaml` keeps every node's position, so each problem gets its file:line:col.
 * Same result as the fast path for a valid file (tests compare them); exported for those tests.
 */
export function parseConfigWithPositions(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const { isMap, isSeq, LineCounter, parseDocument } = yamlLibrary();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntaxLines = yamlProblemLines(doc, text, file, lineCounter);
  if (syntaxLines.length > 0) throw new ConfigError(syntaxLines);
  if (doc.contents === null) throw new ConfigError([`${file}: is empty; it needs at least a "targets:" list`]);
  if (!isMap(doc.contents)) {
    const found = isSeq(doc.contents) ? 'a list' : 'a single value';
    const position = lineCounter.linePos(doc.contents.range?.[0] ?? 0);
    throw new ConfigError([formatProblemLine(file, position, [], `the top level must be a mapping of settings (targets:, notifiers:, …), not ${found}`)]);
  }

  const interpolation = interpolateEnv(doc, text, env);
  const data = documentData(doc, file);
  const parsed = validateSchema(data, interpolation.wholeValues);
  // A value whose ${VAR} is not set has already been reported; the schema's view of it adds nothing.
  const envPaths = new Set(interpolation.problems.map((problem) => JSON.stringify(problem.path)));
  const problems = [
    ...interpolation.problems,
    ...parsed.problems.filter((problem) => !envPaths.has(JSON.stringify(problem.path))),
    ...crossFieldProblems(data),
  ];
  if (problems.length > 0 || parsed.config === undefined) throw new ConfigError(problemLines(problems, doc, lineCounter, file));
  return resolveConfig(parsed.config);
}

function documentData(doc: Document, file: string): unknown {
  try {
    return doc.toJS();
  } catch (error) {
    // yaml refuses documents whose aliases would expand without bound ("billion laughs").
    throw new ConfigError([`${file}: YAML error: ${error instanceof Error ? error.message : String(error)}`], { cause: error });
  }
}

function problemLines(problems: ConfigProblem[], doc: Document, lineCounter: LineCounter, file: string): string[] {
  const located = problems.map((problem) => ({ problem, position: problemPosition(doc, lineCounter, problem) }));
  located.sort((a, b) => comparePositions(a.position, b.position));
  const lines = located.map(({ problem, position }) => formatProblemLine(file, position, problem.path, problem.message));
  return [...new Set(lines)];
}

function comparePositions(a: SourcePosition | undefined, b: SourcePosition | undefined): number {
  if (!a || !b) return (a ? 0 : 1) - (b ? 0 : 1);
  return a.line - b.line || a.col - b.col;
}

function yamlProblemLines(doc: Document, text: string, file: string, lineCounter: LineCounter): string[] {
  const lines = new Map<string, string>();
  // Warnings too: an unknown tag like `!env` would otherwise quietly become a string.
  for (const error of [...doc.errors, ...doc.warnings]) {
    const position = lineCounter.linePos(error.pos[0]);
    const where = `${file}:${position.line}:${position.col}`;
    if (lines.has(where)) continue; // one cause often raises several errors at one spot
    // yaml quotes the offending token, which in a garbage file can be the rest of the file.
    lines.set(where, `${where}: ${clip(yamlMessage(error.code, error.message, text, error.pos[0]), 300)}`);
  }
  return [...lines.values()];
}

const INDENTATION_ERRORS = new Set(['BAD_INDENT', 'BLOCK_AS_IMPLICIT_KEY', 'MULTILINE_IMPLICIT_KEY']);

function yamlMessage(code: string, message: string, text: string, offset: number): string {
  if (code === 'DUPLICATE_KEY') {
    const key = /^\s*("[^"]*"|'[^']*'|[^:#\n]*?)\s*:/.exec(text.slice(offset))?.[1];
    return key ? `duplicate key ${key.startsWith('"') || key.startsWith("'") ? key : `"${key}"`}` : 'duplicate key';
  }
  if (code === 'TAG_RESOLVE_FAILED') return `${message.replace(/^Unresolved tag/, 'unknown YAML tag')} (environment variables are written \${NAME})`;
  if (INDENTATION_ERRORS.has(code)) return `YAML syntax error: ${message} (check the indentation here and on the lines around it)`;
  if (code === 'MULTIPLE_DOCS') return 'YAML syntax error: only one document is allowed; remove the "---" separator';
  return `YAML syntax error: ${message}`;
}
