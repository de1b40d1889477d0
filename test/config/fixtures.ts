/** Config texts more than one config test reads. */

/** Lines joined into a YAML file. */
export function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

/** Two targets: one taking everything from `defaults:`, one overriding part of it. */
export const DEFAULTS_INHERITANCE = yaml(
  'defaults:',
  '  schedule: "*/5 * * * *"',
  '  timeout: 2s',
  '  failureThreshold: 4',
  '  notify: [ops]',
  'notifiers:',
  '  ops: { type: webhook, url: "http://127.0.0.1:9000/hook" }',
  'targets:',
  '  - name: inherits',
  '    type: icmp',
  '    host: 127.0.0.1',
  '  - name: overrides',
  '    type: icmp',
  '    host: 127.0.0.1',
  '    interval: 10s',
  '    timeout: 500ms',
  '    notify: [log]',
);
