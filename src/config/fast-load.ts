/**
 * The fast way to a Config, for files that are valid: js-yaml parses a 10,000-target file about
 * eight times faster than `yaml`, but keeps no positions for error lines. So this path returns a
 * Config or nothing: at the first sign of anything unusual or wrong (see fast-yaml.ts for what
 * js-yaml refuses; then any `${VAR}`, schema or cross-field problem) it gives up, and the
 * positioned `yaml` path runs and reports the problem. For every file accepted here, both paths
 * give the same Config.
 */
import { crossFieldProblems } from './checks.js';
import { interpolateEnvInData } from './env.js';
import { readPlainYaml } from './fast-yaml.js';
import { resolveConfig } from './resolve.js';
import type { Config } from './schema.js';
import { validateSchema } from './validate.js';

export function parseValidConfig(text: string, env: NodeJS.ProcessEnv): Config | undefined {
  try {
    return validConfig(text, env);
  } catch {
    return undefined; // whatever it was, the positioned path meets it again and reports it
  }
}

function validConfig(text: string, env: NodeJS.ProcessEnv): Config | undefined {
  const data = readPlainYaml(text)?.data;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  // Most files hold no reference at all: then there is nothing to walk.
  const wholeValues = text.includes('${') ? interpolateEnvInData(data, env) : new Map<string, string>();
  if (wholeValues === undefined) return undefined;
  const parsed = validateSchema(data, wholeValues);
  if (parsed.config === undefined || parsed.problems.length > 0) return undefined;
  if (crossFieldProblems(data).length > 0) return undefined;
  return resolveConfig(parsed.config);
}
