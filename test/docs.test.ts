import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { configJsonSchema } from '../src/config/json-schema.js';
import { parseConfig } from '../src/config/load.js';

const ROOT = join(import.meta.dirname, '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const example = readFileSync(join(ROOT, 'rules.example.yaml'), 'utf8');

type SchemaNode = {
  type?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
};

/** Every option as a dotted path: `defaults.flap.high`, `targets[].expect.status`, `notifiers.<name>.channel`. */
function optionPaths(node: SchemaNode, prefix = ''): string[] {
  const variants = node.anyOf ?? node.oneOf;
  if (variants) return [...new Set(variants.flatMap((variant) => optionPaths(variant, prefix)))];
  if (node.properties) {
    return Object.entries(node.properties).flatMap(([key, child]) => {
      const path = prefix ? `${prefix}.${key}` : key;
      const below = optionPaths(child, path);
      return below.length > 0 ? [path, ...below] : [path];
    });
  }
  if (typeof node.additionalProperties === 'object' && (node.additionalProperties.properties || node.additionalProperties.anyOf || node.additionalProperties.oneOf)) {
    return optionPaths(node.additionalProperties, `${prefix}.<name>`);
  }
  if (node.items) return optionPaths(node.items, `${prefix}[]`);
  return [];
}

const paths = optionPaths(configJsonSchema() as SchemaNode);
const leafName = (path: string) => path.split('.').at(-1)!.replace('[]', '');

test('rules.example.yaml names every option of the config schema (commented out where unused)', () => {
  const missing = [...new Set(paths.map(leafName))].filter((key) => !new RegExp(`(^|[\\s{,#-])${key}:`, 'm').test(example));
  assert.deepEqual(missing, [], `options not documented in rules.example.yaml: ${missing.join(', ')}`);
});

test('rules.example.yaml is a valid config as shipped', () => {
  const config = parseConfig(example, 'rules.example.yaml', {});
  assert.deepEqual(config.targets.map((target) => target.type).sort(), ['http', 'icmp', 'tcp']);
});

test("README's option table covers every top-level, server, state, defaults and delivery option", () => {
  const table = readme.slice(readme.indexOf('<!-- options-table'), readme.indexOf('Every target has a `name`'));
  const missing = paths.filter((path) => {
    const top = path.split('.')[0]!.replace('[]', '');
    // Sections with a table or a section of their own are named by their prefix.
    if (['slack', 'routes', 'maintenance', 'notifiers', 'targets'].includes(top)) return !table.includes(`\`${top}`);
    if (!path.includes('.')) return !table.includes(`\`${path}`);
    if (path === 'defaults.flap') return !table.includes('`defaults.flap.');
    return !table.includes(`\`${path}\``);
  });
  assert.deepEqual(missing, [], `options missing from the README table: ${missing.join(', ')}`);
});

test("README's target table lists every field of every target type", () => {
  const rows = new Map(
    [...readme.matchAll(/^\| `(http|tcp|icmp|dns|tls)` \| (.*) \|$/gm)].map((match) => [match[1]!, match[2]!]),
  );
  const common = ['name', 'type', 'labels', 'dependsOn', 'description', 'interval', 'schedule', 'timezone', 'retryInterval', 'timeout', 'failureThreshold', 'successThreshold', 'flap', 'notify', 'repeatInterval'];
  const schema = configJsonSchema() as SchemaNode;
  const variants = (schema.properties!.targets!.items!.anyOf ?? schema.properties!.targets!.items!.oneOf)!;
  for (const variant of variants) {
    const type = (variant.properties!.type as { const?: string }).const!;
    const row = rows.get(type);
    assert.ok(row, `README has a row for target type ${type}`);
    const fields = optionPaths(variant)
      .filter((path) => !common.includes(path.split('.')[0]!))
      .map((path) => leafName(path));
    const missing = fields.filter((field) => !row.includes(field));
    assert.deepEqual(missing, [], `README row for ${type} misses ${missing.join(', ')}`);
  }
  for (const field of common.filter((f) => !['name', 'type', 'interval', 'schedule', 'timezone', 'retryInterval', 'timeout', 'failureThreshold', 'successThreshold', 'flap', 'notify', 'repeatInterval'].includes(f))) {
    assert.match(readme, new RegExp(`\`${field}\``), `README mentions the common target field ${field}`);
  }
});

test('README carries the Slack app manifests exactly as docs/ has them', () => {
  for (const file of ['docs/slack-manifest.yaml', 'docs/slack-manifest-socket.yaml']) {
    assert.ok(readme.includes(readFileSync(join(ROOT, file), 'utf8')), `${file} is pasted into the README`);
  }
});
