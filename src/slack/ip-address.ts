/**
 * IP addresses and ranges for the ad-hoc guard. Host text goes through the WHATWG URL host
 * parser, which is what turns `2130706433`, `0x7f000001`, `0177.0.0.1` and `127.1` into
 * 127.0.0.1 (and what resolvers such as getaddrinfo would also accept), so every spelling of
 * an address is judged as the address itself.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface IpAddress {
  family: 4 | 6;
  /** 4 or 16 bytes. */
  bytes: Uint8Array;
  /** Canonical text: dotted quad, or RFC 5952 IPv6 without brackets. */
  text: string;
}

export interface IpRange {
  address: IpAddress;
  prefix: number;
  text: string;
}

export type CanonicalHost = { kind: 'ip'; address: IpAddress } | { kind: 'name'; name: string };

/** An address from its text (brackets allowed); undefined when it is not one. */
export function parseIp(text: string): IpAddress | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (isIPv4(bare)) {
    const bytes = Uint8Array.from(bare.split('.').map(Number));
    return { family: 4, bytes, text: bytes.join('.') };
  }
  if (!isIPv6(bare)) return undefined;
  const bytes = ipv6Bytes(bare);
  return bytes === undefined ? undefined : { family: 6, bytes, text: ipv6Text(bytes) };
}

/** The IPv4 address of an IPv4-mapped IPv6 one (::ffff:a.b.c.d): the kernel connects over IPv4. */
export function mappedIpv4(address: IpAddress): IpAddress | undefined {
  const b = address.bytes;
  const mapped = address.family === 6 && b.subarray(0, 10).every((byte) => byte === 0) && b[10] === 0xff && b[11] === 0xff;
  return mapped ? lastFour(b) : undefined;
}

/** The IPv4 address a NAT64 one (64:ff9b::/96) is translated to by the network. */
export function nat64Ipv4(address: IpAddress): IpAddress | undefined {
  const b = address.bytes;
  const nat64 = address.family === 6 && b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && b.subarray(4, 12).every((byte) => byte === 0);
  return nat64 ? lastFour(b) : undefined;
}

function lastFour(bytes: Uint8Array): IpAddress {
  const v4 = Uint8Array.from(bytes.subarray(12, 16));
  return { family: 4, bytes: v4, text: v4.join('.') };
}

/** "10.0.0.0/8", "::1/128", or a bare address (a range of one). */
export function parseRange(text: string): IpRange | undefined {
  const [base = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return undefined;
  const address = parseIp(base);
  if (address === undefined) return undefined;
  const max = address.family === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return undefined;
  return { address, prefix, text: `${address.text}/${prefix}` };
}

export function inRange(address: IpAddress, range: IpRange): boolean {
  if (address.family !== range.address.family) return false;
  let bits = range.prefix;
  for (let index = 0; bits > 0; index++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((address.bytes[index] ?? 0) & mask) !== ((range.address.bytes[index] ?? 0) & mask)) return false;
  }
  return true;
}

/**
 * A host as typed, canonicalised: an IP address in any spelling the URL parser knows, or a
 * lower-case name (IDN as punycode) without a trailing dot. Undefined when it is neither.
 */
export function canonicalHost(text: string): CanonicalHost | undefined {
  const host = text.trim();
  // Only host characters: no userinfo, port, path or query can ride along in a bare host.
  if (!/^(\[[0-9a-f:.]+\]|[^\s/\\?#@:[\]]+|[0-9a-f:.]*:[0-9a-f:.]*)$/i.test(host)) return undefined;
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  let hostname: string;
  try {
    hostname = new URL(`http://${bracketed}/`).hostname;
  } catch {
    return undefined;
  }
  const address = parseIp(hostname);
  if (address !== undefined) return { kind: 'ip', address };
  const name = hostname.replace(/\.$/, '');
  if (name === '' || !/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(name)) return undefined;
  return { kind: 'name', name };
}

/** `[::1]` for URLs and host:port, the dotted quad as is. */
export function hostLiteral(address: IpAddress): string {
  return address.family === 6 ? `[${address.text}]` : address.text;
}

function ipv6Bytes(text: string): Uint8Array | undefined {
  // A dotted IPv4 tail (::ffff:1.2.3.4) becomes its two hex groups.
  const expanded = text.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a: string, b: string, c: string, d: string) =>
    `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`);
  let groups: string[];
  if (expanded.includes('::')) {
    const [left = '', right = ''] = expanded.split('::');
    const l = left === '' ? [] : left.split(':');
    const r = right === '' ? [] : right.split(':');
    groups = [...l, ...Array<string>(Math.max(0, 8 - l.length - r.length)).fill('0'), ...r];
  } else groups = expanded.split(':');
  if (groups.length !== 8 || groups.some((group) => !/^[0-9a-f]{1,4}$/i.test(group))) return undefined;
  const bytes = new Uint8Array(16);
  groups.forEach((group, index) => {
    const word = parseInt(group, 16);
    bytes[index * 2] = word >> 8;
    bytes[index * 2 + 1] = word & 0xff;
  });
  return bytes;
}

/** RFC 5952: lower case, no leading zeros, the longest run of zero groups (2+) as `::`. */
function ipv6Text(bytes: Uint8Array): string {
  const words = Array.from({ length: 8 }, (_, index) => (bytes[index * 2]! << 8) | bytes[index * 2 + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; ) {
    let end = start;
    while (end < 8 && words[end] === 0) end++;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end === start ? start + 1 : end;
  }
  const hex = words.map((word) => word.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
