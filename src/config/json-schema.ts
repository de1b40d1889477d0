/** The JSON Schema of rules.yaml, generated from the zod schema, for editors and `probebot schema`. */
import { z } from 'zod';
import { formatDuration } from './durations.js';
import { BUILTIN_DEFAULTS, configSchema } from './schema.js';

export const CONFIG_SCHEMA_ID = 'https://probebot.dev/schema/rules.json';

/** The schema of what people write (durations as strings like "30s"), not of the parsed result. */
export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(configSchema, {
    io: 'input',
    target: 'draft-2020-12',
    // Refinements (a valid regex, low ≤ high) cannot be expressed; probebot itself still checks them.
    unrepresentable: 'any',
    override: ({ jsonSchema }) => {
      // zod bounds every integer by the safe range; in an editor that is noise.
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
      if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
    },
  });
  showBuiltinDefaults(generated);
  const { $schema, ...body } = generated;
  return {
    $schema,
    $id: CONFIG_SCHEMA_ID,
    title: 'probebot rules.yaml',
    description: 'What probebot watches (targets), how it decides a target is down, and whom it tells (notifiers, routes).',
    ...body,
  };
}

/** `defaults:` settings fall back to built-in values; show them as an editor would ("30s"). */
function showBuiltinDefaults(schema: object): void {
  const properties = (schema as { properties?: { defaults?: { properties?: Record<string, Record<string, unknown>> } } }).properties?.defaults?.properties;
  if (!properties) return;
  const builtin: Record<string, unknown> = {
    ...BUILTIN_DEFAULTS,
    interval: formatDuration(BUILTIN_DEFAULTS.interval),
    retryInterval: formatDuration(BUILTIN_DEFAULTS.retryInterval),
    timeout: formatDuration(BUILTIN_DEFAULTS.timeout),
  };
  for (const [key, value] of Object.entries(builtin)) {
    const property = properties[key];
    if (property) properties[key] = { ...property, default: value };
  }
}
