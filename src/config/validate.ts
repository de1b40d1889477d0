/** The schema check both parse paths share, including how whole-value `${VAR}`s are retyped. */
import type { z } from 'zod';
import { scalarFromEnv } from './env.js';
import { issueReader, type ConfigProblem } from './errors.js';
import { configSchema, type RawConfig } from './schema.js';

/**
 * Validates against the schema. A value that was exactly one `${VAR}` is a string after
 * substitution; where the schema wants a number or boolean and the text reads as one (`5432`),
 * it is used as that, and the data validated again.
 */
export function validateSchema(data: unknown, wholeValues: Map<string, string>): { config?: RawConfig; problems: ConfigProblem[] } {
  let reader = issueReader();
  let result = configSchema.safeParse(data, reader.parseOptions);
  if (!result.success && retypeEnvValues(data, result.error.issues, wholeValues)) {
    reader = issueReader();
    result = configSchema.safeParse(data, reader.parseOptions);
  }
  return result.success ? { config: result.data, problems: [] } : { problems: reader.problems(result.error.issues) };
}

/** Puts numbers and booleans where the schema asked for them; true when anything changed. */
function retypeEnvValues(data: unknown, issues: readonly z.core.$ZodIssue[], wholeValues: Map<string, string>): boolean {
  let changed = false;
  for (const issue of issues) {
    const text = issue.code === 'invalid_type' ? wholeValues.get(JSON.stringify(issue.path)) : undefined;
    if (text === undefined || issue.code !== 'invalid_type') continue;
    const value = scalarFromEnv(text);
    if (typeof value === issue.expected || (issue.expected === 'int' && typeof value === 'number')) {
      setAt(data, issue.path, value);
      changed = true;
    }
  }
  return changed;
}

function setAt(data: unknown, path: readonly PropertyKey[], value: unknown): void {
  let node = data as Record<PropertyKey, unknown>;
  for (const part of path.slice(0, -1)) node = node[part] as Record<PropertyKey, unknown>;
  node[path[path.length - 1]!] = value;
}
