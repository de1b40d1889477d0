/**
 * Pure helpers for the ICMP probe: the command lines for fping and ping, and parsers for what
 * they print. Kept apart from the process handling so they are tested with captured output.
 */

/** One line of `fping -c 1` output, per host: stdout has replies and timeouts, stderr the rest. */
export type FpingLine =
  | { kind: 'reply'; host: string; rttMs: number }
  | { kind: 'timeout'; host: string }
  | { kind: 'summary'; host: string; sent: number; received: number; rttMs?: number }
  | { kind: 'host-error'; host: string; message: string }
  | { kind: 'tool-error'; message: string };

/** What one `ping -c 1` run reported. */
export type PingOutcome = { replied: true; rttMs: number } | { replied: false; error?: string };

/** Which ping flags to use: iputils (Linux) or BSD (macOS, FreeBSD); Windows is not supported. */
export type PingFlavour = 'iputils' | 'bsd' | 'unsupported';

export const WINDOWS_UNSUPPORTED = 'ICMP targets are not supported on Windows: run probebot on Linux or macOS';

const FPING_HOST_LINE = /^(\S+)\s+: (.*)$/;
const FPING_REPLY = /^\[\d+\], \d+ bytes, ([\d.]+) ms/;
const FPING_TIMEOUT = /^\[\d+\], timed out/;
const FPING_SUMMARY = /^xmt\/rcv\/%loss = (\d+)\/(\d+)\/\d+%(?:, min\/avg\/max = [\d.]+\/([\d.]+)\/[\d.]+)?/;
// "nosuch.invalid: Name or service not known": no space before the colon, unlike the per-host lines.
const FPING_HOST_ERROR = /^(\S+): (.+)$/;

export function parseFpingLine(line: string): FpingLine | null {
  const text = line.trimEnd();
  if (text === '') return null;
  const perHost = FPING_HOST_LINE.exec(text);
  if (perHost) {
    const host = perHost[1]!;
    const rest = perHost[2]!;
    const reply = FPING_REPLY.exec(rest);
    if (reply) return { kind: 'reply', host, rttMs: Number(reply[1]) };
    if (FPING_TIMEOUT.test(rest)) return { kind: 'timeout', host };
    const summary = FPING_SUMMARY.exec(rest);
    if (summary) {
      const counts: FpingLine = { kind: 'summary', host, sent: Number(summary[1]), received: Number(summary[2]) };
      if (summary[3] !== undefined) counts.rttMs = Number(summary[3]);
      return counts;
    }
  }
  const hostError = FPING_HOST_ERROR.exec(text);
  if (hostError && hostError[1] !== 'fping') return { kind: 'host-error', host: hostError[1]!, message: hostError[2]! };
  return { kind: 'tool-error', message: text };
}

const NAME_NOT_FOUND = /not known|no address associated|unknown host|cannot resolve|non-recoverable failure in name resolution/i;

/** "fping: host unknown: nosuch.invalid (Name or service not known)", or the tool's own words. */
export function describeHostError(tool: 'fping' | 'ping', host: string, message: string): string {
  return NAME_NOT_FOUND.test(message) ? `${tool}: host unknown: ${host} (${message})` : `${tool}: ${host}: ${message}`;
}

/**
 * Arguments for one fping process over many hosts: one echo each (`-c 1`), per-host wait in ms
 * (`-t`), 1 ms between packets (`-i 1`, the least fping lets an unprivileged user ask for).
 * Not `-q`: it hides the per-host name errors, and the reply lines let a probe settle early.
 */
export function fpingArguments(hosts: readonly string[], waitMs: number, intervalMs: number): string[] {
  return ['-c', '1', '-t', String(Math.max(1, Math.floor(waitMs))), '-i', String(intervalMs), '--', ...hosts];
}

/** The ping flags that this platform's ping understands. */
export function pingFlavour(platform: NodeJS.Platform): PingFlavour {
  if (platform === 'win32') return 'unsupported';
  return platform === 'darwin' || platform === 'freebsd' ? 'bsd' : 'iputils';
}

/**
 * One echo to one host. iputils: `-W` is the reply wait in seconds, fractional (at least 0.001)
 * since s20190324; before that atoi() read "0.5" as 0, so whole seconds, rounded up.
 * BSD: `-W` is in milliseconds, `-t` a deadline in seconds.
 */
export function pingArguments(host: string, timeoutMs: number, flavour: Exclude<PingFlavour, 'unsupported'>, fractionalWait: boolean): string[] {
  const ms = Math.max(1, Math.floor(timeoutMs));
  if (flavour === 'bsd') return ['-n', '-c', '1', '-W', String(ms), '-t', String(Math.ceil(ms / 1000)), '--', host];
  const seconds = fractionalWait ? (ms / 1000).toFixed(3) : String(Math.ceil(ms / 1000));
  return ['-n', '-c', '1', '-W', seconds, '--', host];
}

/** Whether `ping -V` names an iputils that takes `-W 0.5` ("ping from iputils 20221126", "iputils-s20161105"). */
export function pingTakesFractionalWait(versionText: string): boolean {
  const release = /iputils[ -]s?(\d{8})/.exec(versionText);
  return release !== null && Number(release[1]) >= 20190324;
}

const PING_RECEIVED = /(\d+) (?:packets )?received/;
const PING_TIME = /time[=<]([\d.]+) ?ms/;
const PING_SUMMARY_RTT = /(?:rtt|round-trip) min\/avg\/max\/(?:mdev|stddev) = [\d.]+\/([\d.]+)\//;

/** Reads one `ping -c 1` run: a reply and its RTT, or why there was none. */
export function parsePingOutput(stdout: string, stderr: string, host: string, timeoutMs: number): PingOutcome {
  const received = PING_RECEIVED.exec(stdout);
  const rtt = PING_TIME.exec(stdout) ?? PING_SUMMARY_RTT.exec(stdout);
  if (received && Number(received[1]) > 0 && rtt) return { replied: true, rttMs: Number(rtt[1]) };
  if (received) return { replied: false, error: `no echo reply from ${host} within ${timeoutMs}ms` };
  const lines = stderr.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  // iputils: "ping: nosuch.invalid: Name or service not known"; macOS: "ping: cannot resolve nosuch.invalid: Unknown host".
  for (const prefix of [`ping: ${host}: `, `ping: cannot resolve ${host}: `]) {
    const line = lines.find((candidate) => candidate.startsWith(prefix));
    if (line !== undefined) return { replied: false, error: describeHostError('ping', host, line.slice(prefix.length)) };
  }
  return lines[0] === undefined ? { replied: false } : { replied: false, error: lines[0] };
}
