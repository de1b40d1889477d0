import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTargetTable } from '../src/check-table.js';
import { parseConfig } from '../src/config/load.js';

test('probebot check shows how each target is scheduled, with the zone of a cron schedule', () => {
  const config = parseConfig(
    [
      'targets:',
      '  - { name: every-10s, type: tcp, host: 127.0.0.1, port: 9, interval: 10s }',
      '  - { name: local-cron, type: tcp, host: 127.0.0.1, port: 9, schedule: "0 9 * * *" }',
      '  - { name: paris-cron, type: tcp, host: 127.0.0.1, port: 9, schedule: "0 9 * * *", timezone: Europe/Paris }',
      '',
    ].join('\n'),
    'rules.yaml',
    {},
  );
  const rows = formatTargetTable(config.targets).split('\n');
  const row = (name: string) => rows.find((line) => line.startsWith(`${name} `)) ?? '';
  assert.match(row('every-10s'), / 10s /);
  assert.match(row('local-cron'), / cron 0 9 \* \* \* {2,}/);
  assert.match(row('paris-cron'), / cron 0 9 \* \* \* Europe\/Paris /);
});
