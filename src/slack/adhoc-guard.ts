/**
 * The ad-hoc probe policy. Its job is to keep `/probe <address>` from becoming a way for any
 * Slack user to scan the network the bot sits in, so it is deny-by-default and decides on
 * addresses, not on text:
 *
 * - Off unless `slack.adhoc.allow` lists something.
 * - The host is canonicalised first (decimal, hex, octal and short IPv4 forms, IPv6 with or
 *   without brackets, IPv4-mapped IPv6, trailing dots, upper case, IDN; the user:password@
 *   part of a URL is dropped and never decides anything).
 * - An IP literal is allowed only inside an allowed CIDR. Host patterns never match literals.
 * - A name is resolved (all addresses) and EVERY address must be allowed: inside an allowed
 *   CIDR, or, when the name matches an allowed host pattern (`*.svc.cluster.local` matches
 *   one or more labels), anywhere except the ranges a pattern can never reach: loopback,
 *   unspecified, link-local (which holds the cloud metadata services), multicast, reserved and
 *   the metadata addresses. A pattern vouches for names; it does not vouch for what a DNS zone
 *   owner points them at. Those ranges are reachable only through an explicit CIDR.
 * - The port (URL port, its scheme's default, or host:port) must be in `slack.adhoc.ports`
 *   when that list is set; ICMP has no port and is judged on the address alone.
 * - The probe is pinned to the checked address: it connects to the IP literal (HTTP keeps the
 *   name in the Host header), so the name is not looked up again between check and probe (no
 *   DNS rebinding). HTTP redirects are never followed. HTTPS is probed without certificate
 *   verification, because the pinned connection cannot present the name for SNI through the
 *   HTTP probe (the answer says so).
 * - Refused input is refused before any connection is opened; a refused port or a name that no
 *   pattern allows is refused before any DNS query when no CIDR could allow it either.
 */
import { lookup } from 'node:dns/promises';
import type { Target } from '../config/schema.js';
import { adhocTarget } from '../probes/adhoc.js';
import { canonicalHost, hostLiteral, inRange, mappedIpv4, nat64Ipv4, parseIp, parseRange, type IpAddress, type IpRange } from './ip-address.js';

/** All addresses of a name; rejects when it has none. */
export type ResolveHost = (name: string, signal: AbortSignal) => Promise<string[]>;

export type AdhocCheck =
  | { ok: true; target: Target; shown: string; connectTo: string; notes: string[] }
  | { ok: false; reason: string };

export interface AdhocGuardOptions {
  allow: readonly string[];
  ports: readonly number[];
  resolve?: ResolveHost;
  /** How long a name may take to resolve; default 2 s. */
  resolveTimeoutMs?: number;
}

/** Never reached through a host pattern, only through a CIDR that names them. */
const PATTERN_NEVER = [
  '0.0.0.0/8', '127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/4', '240.0.0.0/4', '100.100.100.200/32',
  '::/128', '::1/128', 'fe80::/10', 'ff00::/8', 'fd00:ec2::254/128',
].map((text) => parseRange(text)!);

interface HostPattern {
  text: string;
  /** `*.example.com` → suffix ".example.com"; `db.example.com` → exact. */
  suffix?: string;
  exact?: string;
}

export class AdhocGuard {
  private constructor(
    private readonly ranges: IpRange[],
    private readonly patterns: HostPattern[],
    private readonly ports: readonly number[],
    private readonly resolve: ResolveHost,
    private readonly resolveTimeoutMs: number,
  ) {}

  /** The guard, or one line per allow entry that is neither a CIDR nor a host pattern. */
  static create(options: AdhocGuardOptions): { guard: AdhocGuard; problems: string[] } {
    const ranges: IpRange[] = [];
    const patterns: HostPattern[] = [];
    const problems: string[] = [];
    for (const entry of options.allow) {
      const range = parseRange(entry);
      const pattern = range === undefined ? parsePattern(entry) : undefined;
      if (range !== undefined) ranges.push(range);
      else if (pattern !== undefined) patterns.push(pattern);
      else problems.push(`slack.adhoc.allow: "${entry}" is neither a CIDR (10.0.0.0/8, ::1/128) nor a host pattern (*.svc.cluster.local, db.example.com)`);
    }
    const guard = new AdhocGuard(ranges, patterns, options.ports, options.resolve ?? resolveWithDns, options.resolveTimeoutMs ?? 2000);
    return { guard, problems };
  }

  get enabled(): boolean {
    return this.ranges.length > 0 || this.patterns.length > 0;
  }

  /** "127.0.0.0/8, *.svc.cluster.local on ports 80, 443". */
  describe(): string {
    const where = [...this.ranges.map((range) => range.text), ...this.patterns.map((pattern) => pattern.text)].join(', ');
    return this.ports.length === 0 ? where : `${where} on ports ${this.ports.join(', ')}`;
  }

  async check(input: string, signal: AbortSignal): Promise<AdhocCheck> {
    if (!this.enabled) return refuse('Ad-hoc probes are off: only configured targets can be probed (whoever runs probebot can allow addresses with slack.adhoc.allow).');
    const parsed = adhocTarget(input);
    const where = parsed === undefined ? undefined : addressOf(parsed);
    if (parsed === undefined || where === undefined) return refuse(`\`${input}\` is neither a configured target nor an address (a URL, host:port or host).`);
    const host = canonicalHost(where.host);
    if (host === undefined) return refuse(`\`${where.host}\` is not a host name or IP address.`);
    if (where.port !== undefined && this.ports.length > 0 && !this.ports.includes(where.port)) {
      return refuse(`Port ${where.port} is not allowed for ad-hoc probes. Allowed: ${this.describe()}.`);
    }
    const shownHost = host.kind === 'ip' ? hostLiteral(host.address) : host.name;
    let addresses: IpAddress[];
    let viaPattern = false;
    if (host.kind === 'ip') addresses = [host.address];
    else {
      viaPattern = this.patterns.some((pattern) => matchesPattern(host.name, pattern));
      if (!viaPattern && this.ranges.length === 0) return refuse(`\`${host.name}\` is not allowed for ad-hoc probes. Allowed: ${this.describe()}.`);
      const resolved = await this.lookup(host.name, signal);
      if (typeof resolved === 'string') return refuse(resolved);
      addresses = resolved;
    }
    for (const address of addresses) {
      if (!this.allows(address, viaPattern)) {
        const what = host.kind === 'ip' ? `${address.text} is` : `\`${host.name}\` resolves to ${address.text}, which is`;
        return refuse(`${what} not allowed for ad-hoc probes. Allowed: ${this.describe()}.`);
      }
    }
    return pin(parsed, where, shownHost, connectAddress(addresses[0]!));
  }

  private allows(address: IpAddress, viaPattern: boolean): boolean {
    // Judged as every address it stands for: ::ffff:127.0.0.1 is 127.0.0.1, and a NAT64 address
    // must be allowed both as itself and as the IPv4 address the network translates it to.
    const mapped = mappedIpv4(address);
    const nat64 = nat64Ipv4(address);
    const views = mapped !== undefined ? [mapped] : nat64 !== undefined ? [address, nat64] : [address];
    return views.every((view) => this.ranges.some((range) => inRange(view, range)) || (viaPattern && !PATTERN_NEVER.some((range) => inRange(view, range))));
  }

  private async lookup(name: string, signal: AbortSignal): Promise<IpAddress[] | string> {
    // A timer of our own rather than AbortSignal.timeout, whose unref'd timer may never fire.
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error('timeout')), this.resolveTimeoutMs);
    const deadline = AbortSignal.any([signal, timeout.signal]);
    let texts: string[];
    try {
      texts = await raceAbort(this.resolve(name, deadline), deadline);
    } catch (error) {
      return deadline.aborted ? `\`${name}\` did not resolve within ${this.resolveTimeoutMs} ms.` : `\`${name}\` does not resolve (${(error as { code?: string }).code ?? (error as Error).message}).`;
    } finally {
      clearTimeout(timer);
    }
    const addresses = texts.map((text) => parseIp(text));
    if (addresses.length === 0) return `\`${name}\` resolves to no address.`;
    if (addresses.some((address) => address === undefined)) return `\`${name}\` resolves to something that is not an IP address.`;
    return addresses as IpAddress[];
  }
}

function refuse(reason: string): AdhocCheck {
  return { ok: false, reason };
}

function parsePattern(entry: string): HostPattern | undefined {
  const text = entry.trim().toLowerCase().replace(/\.$/, '');
  const label = '[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?';
  const name = new RegExp(`^${label}(\\.${label})*$`);
  if (text.startsWith('*.') && name.test(text.slice(2))) return { text, suffix: text.slice(1) };
  if (name.test(text) && parseIp(text) === undefined && !/^[0-9.]+$/.test(text)) return { text, exact: text };
  return undefined;
}

function matchesPattern(name: string, pattern: HostPattern): boolean {
  if (pattern.exact !== undefined) return name === pattern.exact;
  return pattern.suffix !== undefined && name.endsWith(pattern.suffix) && name.length > pattern.suffix.length;
}

/** Host and port a parsed ad-hoc target would reach. */
function addressOf(target: Target): { host: string; port?: number; url?: URL } | undefined {
  switch (target.type) {
    case 'http': {
      const url = new URL(target.url);
      return { host: url.hostname, port: url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port), url };
    }
    case 'tcp':
      return { host: target.host, port: target.port };
    case 'icmp':
      return { host: target.host };
    default:
      return undefined;
  }
}

/** An IPv4-mapped address is an IPv4 connection; anything else is connected to as resolved. */
function connectAddress(address: IpAddress): IpAddress {
  return mappedIpv4(address) ?? address;
}

/** The target that reaches exactly the checked address. */
function pin(target: Target, where: { host: string; port?: number; url?: URL }, shownHost: string, address: IpAddress): AdhocCheck {
  const literal = hostLiteral(address);
  const notes: string[] = [];
  if (target.type === 'http' && where.url !== undefined) {
    const shownUrl = new URL(where.url.href);
    shownUrl.username = '';
    shownUrl.password = '';
    const pinnedUrl = new URL(shownUrl.href);
    pinnedUrl.hostname = literal;
    notes.push('redirects are not followed');
    // The Host header also names the server for TLS: SNI, and the certificate is checked against it.
    const pinned: Target = { ...target, url: pinnedUrl.href, headers: { host: shownUrl.host }, followRedirects: false };
    return { ok: true, target: pinned, shown: shownUrl.href, connectTo: address.text, notes };
  }
  if (target.type === 'tcp') {
    return { ok: true, target: { ...target, host: address.text }, shown: `${shownHost}:${target.port}`, connectTo: address.text, notes };
  }
  return { ok: true, target: { ...target, host: address.text } as Target, shown: shownHost, connectTo: address.text, notes };
}

async function resolveWithDns(name: string): Promise<string[]> {
  const answers = await lookup(name, { all: true, verbatim: true });
  return answers.map((answer) => answer.address);
}

/** dns.lookup cannot be cancelled; the caller stops waiting for it instead. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
