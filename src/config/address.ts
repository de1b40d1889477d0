import type { Target } from './schema.js';

/** What a target probes, the way people write it: the URL, host:port, host, or query@server. */
export function targetAddress(target: Target): string {
  switch (target.type) {
    case 'http':
      return target.url;
    case 'tcp':
    case 'tls':
      return `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
    case 'icmp':
      return target.host;
    case 'dns':
      return target.server ? `${target.query} ${target.recordType} @${target.server}` : `${target.query} ${target.recordType}`;
  }
}
