/** The published JSON Schema describes what people write in rules.yaml (the input side). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { DURATION_PATTERN } from '../../src/config/durations.js';
import { configJsonSchema } from '../../src/config/json-schema.js';
import { parseConfig } from '../../src/config/load.js';
import { TARGET_TYPES } from '../../src/config/schema.js';

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  required?: string[];
  items?: Schema;
  oneOf?: Schema[];
  const?: unknown;
  pattern?: string;
  default?: unknown;
  [key: string]: unknown;
}

const EXAMPLE = `
defaults:
  interval: 30s
  timeout: 3s
  notify: [ops, pager]
notifiers:
  ops: { type: webhook, url: "http://127.0.0.1:9000/hook", timeout: 5s }
  pager: { type: pagerduty, routingKey: "0123456789abcdef0123456789abcdef", severity: error }
delivery:
  groupWait: 30s
routes:
  - match: { team: db }
    notify: [pager]
maintenance:
  - name: backups
    schedule: "0 3 * * *"
    duration: 30m
    targets: [db]
targets:
  - name: web
    type: http
    url: http://127.0.0.1:8080/health
    expect: { status: [200, 204], maxLatency: 500ms }
  - name: db
    type: tcp
    host: 127.0.0.1
    port: 5432
    labels: { team: db }
    dependsOn: [web]
  - name: gateway
    type: icmp
    host: 127.0.0.1
  - name: resolver
    type: dns
    query: localhost
    recordType: A
  - name: cert
    type: tls
    host: 127.0.0.1
    expect: { certValidFor: 14d }
`;

/** Keys in `value` that the schema does not allow, as paths: a structural check, not a validator. */
function keysOutsideSchema(value: unknown, schema: Schema, path = ''): string[] {
  if (schema.oneOf) {
    const type = (value as { type?: unknown }).type;
    const branch = schema.oneOf.find((option) => option.properties?.['type']?.const === type);
    return branch ? keysOutsideSchema(value, branch, path) : [`${path}.type`];
  }
  if (Array.isArray(value)) return schema.items ? value.flatMap((item, index) => keysOutsideSchema(item, schema.items!, `${path}[${index}]`)) : [];
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const childSchema = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (childSchema) return keysOutsideSchema(child, childSchema, `${path}.${key}`);
    return schema.additionalProperties === false ? [`${path}.${key}`] : [];
  });
}

describe('JSON Schema of rules.yaml', () => {
  const schema = configJsonSchema() as Schema;
  const targetBranches = schema.properties?.['targets']?.items?.oneOf ?? [];
  const branch = (type: string) => targetBranches.find((option) => option.properties?.['type']?.const === type);

  it('identifies itself and rejects unknown top-level keys', () => {
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.match(String(schema.$id), /^https:\/\//);
    assert.equal(schema.title, 'probebot rules.yaml');
    assert.equal(typeof schema.description, 'string');
    assert.equal(schema.additionalProperties, false);
  });

  it('has one closed branch per target type, each requiring its own fields', () => {
    assert.deepEqual(targetBranches.map((option) => option.properties?.['type']?.const), [...TARGET_TYPES]);
    for (const option of targetBranches) assert.equal(option.additionalProperties, false);
    assert.deepEqual(branch('http')?.required, ['name', 'type', 'url']);
    assert.deepEqual(branch('tcp')?.required, ['name', 'type', 'host', 'port']);
    assert.deepEqual(branch('tls')?.required, ['name', 'type', 'host']);
    assert.deepEqual(branch('tcp')?.properties?.['port'], { type: 'integer', minimum: 1, maximum: 65535 });
  });

  it('describes durations as strings with the duration pattern and readable defaults', () => {
    const interval = branch('tcp')?.properties?.['interval'];
    assert.equal(interval?.type, 'string');
    assert.equal(interval?.pattern, DURATION_PATTERN);
    const pattern = new RegExp(DURATION_PATTERN);
    assert.ok(pattern.test('1h30m') && !pattern.test('30 seconds') && !pattern.test('30'));
    assert.equal(schema.properties?.['defaults']?.properties?.['interval']?.default, '30s');
    assert.equal(schema.properties?.['state']?.properties?.['flushInterval']?.default, '1s');
    assert.equal(schema.properties?.['delivery']?.properties?.['giveUpAfter']?.default, '24h');
    assert.equal(branch('tls')?.properties?.['expect']?.properties?.['certValidFor']?.default, '14d');
  });

  it('allows every key of an example that probebot accepts, and flags a misspelt one', () => {
    parseConfig(EXAMPLE, 'example.yaml', {});
    assert.deepEqual(keysOutsideSchema(parse(EXAMPLE), schema), []);
    const misspelt = EXAMPLE.replace('    port: 5432', '    prot: 5432').replace('  timeout: 3s', '  timout: 3s');
    assert.deepEqual(keysOutsideSchema(parse(misspelt), schema), ['.defaults.timout', '.targets[1].prot']);
  });
});
