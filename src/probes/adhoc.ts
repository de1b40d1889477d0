import { isIP } from 'node:net';
import { resolveTarget } from '../config/resolve.js';
import { httpTargetSchema, type RawConfig, type Target } from '../config/schema.js';

/**
 * A one-off target from what a person typed: `http(s)://…` is an HTTP probe, `host:port` or
 * `[v6]:port` a TCP connect, a bare host or IP an ICMP echo. Undefined when it is none of those.
 */
export function adhocTarget(text: string, defaults: RawConfig['defaults'] = {}): Target | undefined {
  const input = text.trim();
  const name = 'adhoc';
  if (/^https?:\/\//i.test(input)) {
    const parsed = httpTargetSchema.safeParse({ name, type: 'http', url: input });
    return parsed.success ? resolveTarget(parsed.data, defaults) : undefined;
  }
  const hostPort = /^\[([0-9a-f:.]+)\]:(\d{1,5})$/i.exec(input) ?? /^([^:\s/]+):(\d{1,5})$/.exec(input);
  if (hostPort) {
    const port = Number(hostPort[2]);
    if (port < 1 || port > 65535) return undefined;
    return resolveTarget({ name, type: 'tcp', host: hostPort[1]!, port }, defaults);
  }
  if (isIP(input) !== 0 || /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(input)) {
    return resolveTarget({ name, type: 'icmp', host: input }, defaults);
  }
  return undefined;
}
