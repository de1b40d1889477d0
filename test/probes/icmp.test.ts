import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { resolveTarget } from '../../src/config/resolve.js';
import type { IcmpTarget } from '../../src/config/schema.js';
import { ICMP_TOOLS_MISSING, createIcmpProbe, detectIcmpTools, icmpToolsProblem, type IcmpProber } from '../../src/probes/icmp.js';
import {
  describeHostError, fpingArguments, parseFpingLine, parsePingOutput, pingArguments, pingFlavour, pingTakesFractionalWait,
  type FpingLine, type PingOutcome,
} from '../../src/probes/icmp-parse.js';
import { deadlineReason, type ProbeResult } from '../../src/probes/types.js';

const icmpTarget = (host: string, timeout = 1000): IcmpTarget =>
  resolveTarget({ name: 'lo', type: 'icmp', host, timeout }, {}) as IcmpTarget;

/** What the scheduler passes: a signal that aborts with deadlineReason(ms) after ms. */
function deadline(ms: number): { signal: AbortSignal; cancel(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(deadlineReason(ms)), ms);
  return { signal: controller.signal, cancel: () => clearTimeout(timer) };
}

/** Probes each target in the same tick with its own deadline, as the scheduler does; checks no listener stays. */
async function probeEach(prober: IcmpProber, targets: IcmpTarget[]): Promise<ProbeResult[]> {
  const deadlines = targets.map((target) => deadline(target.timeout));
  const results = await Promise.all(targets.map((target, i) => prober.probe(target, deadlines[i]!.signal)));
  for (const { signal, cancel } of deadlines) {
    cancel();
    assert.equal(getEventListeners(signal, 'abort').length, 0, 'no abort listener left behind');
  }
  return results;
}

/** Polls (bounded) until the process is gone: killed and reaped, not a zombie. */
async function processGone(pid: number, withinMs = 2000): Promise<boolean> {
  for (const end = Date.now() + withinMs; Date.now() < end; await sleep(10)) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
  }
  return false;
}

async function fileText(path: string, withinMs = 2000): Promise<string> {
  for (const end = Date.now() + withinMs; Date.now() < end; await sleep(10)) {
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      if (text.endsWith('\n')) return text;
    }
  }
  throw new Error(`${path} was not written within ${withinMs}ms`);
}

const hasIpv6Loopback = Object.values(networkInterfaces()).flat().some((address) => address?.address === '::1');

/** Whether a private network namespace with echo replies switched off can be made here (root or userns). */
function canIsolateLoopback(): boolean {
  try {
    execFileSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up && sysctl -q -w net.ipv4.icmp_echo_ignore_all=1'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

describe('icmp probe', () => {
  let dir: string;
  let fping: string;
  let ping: string;
  const script = (name: string, body: string): string => {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  };
  /** A wrapper that logs each run's arguments to `<name>.calls`, then execs the real tool. */
  const counting = (name: string, real: string): { path: string; calls(): string[] } => {
    const log = join(dir, `${name}.calls`);
    return {
      path: script(name, `echo "$*" >> '${log}'\nexec '${real}' "$@"`),
      calls: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((line) => line !== '') : []),
    };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'probebot-icmp-'));
    const tools = await detectIcmpTools();
    assert.ok(tools.fping && tools.ping, 'these tests need the real fping and ping');
    fping = tools.fping;
    ping = tools.ping;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('127.0.0.1 answers through fping, with the RTT fping measured', async () => {
    const prober = createIcmpProbe({ fpingPath: fping });
    const { signal, cancel } = deadline(2000);
    const before = Date.now();
    const result = await prober.probe(icmpTarget('127.0.0.1'), signal);
    cancel();
    prober.close();
    assert.equal(result.ok, true, result.error);
    assert.equal(result.details?.tool, 'fping');
    assert.equal(result.latencyMs, result.details?.rttMs);
    assert.ok(result.latencyMs > 0 && result.latencyMs < 100, `RTT ${result.latencyMs}ms`);
    assert.ok(result.at >= before && result.at <= Date.now());
    assert.equal(getEventListeners(signal, 'abort').length, 0, 'no abort listener left behind');
  });

  test('127.0.0.1 answers through ping when fping is not to be used', async () => {
    const prober = createIcmpProbe({ fpingPath: null, pingPath: ping });
    const { signal, cancel } = deadline(2000);
    const result = await prober.probe(icmpTarget('127.0.0.1'), signal);
    cancel();
    prober.close();
    assert.equal(result.ok, true, result.error);
    assert.equal(result.details?.tool, 'ping');
    assert.ok(result.latencyMs > 0 && result.latencyMs < 100, `RTT ${result.latencyMs}ms`);
    assert.equal(getEventListeners(signal, 'abort').length, 0);
  });

  test('::1 answers through both tools', { skip: hasIpv6Loopback ? false : 'no IPv6 loopback here' }, async () => {
    for (const options of [{ fpingPath: fping }, { fpingPath: null, pingPath: ping }]) {
      const prober = createIcmpProbe(options);
      const { signal, cancel } = deadline(2000);
      const result = await prober.probe(icmpTarget('::1'), signal);
      cancel();
      prober.close();
      assert.equal(result.ok, true, `${JSON.stringify(options)}: ${result.error}`);
    }
  });

  test('50 loopback addresses asked for in one tick get 50 replies from one fping process', async () => {
    const wrapper = counting('fping-50', fping);
    const prober = createIcmpProbe({ fpingPath: wrapper.path });
    const hosts = Array.from({ length: 50 }, (_, i) => `127.0.0.${i + 2}`);
    const results = await probeEach(prober, hosts.map((host) => icmpTarget(host)));
    prober.close();
    assert.deepEqual(results.filter((result) => !result.ok).map((result) => result.error), []);
    assert.equal(wrapper.calls().length, 1, 'one fping for the whole batch');
    for (const host of hosts) assert.ok(wrapper.calls()[0]!.split(' ').includes(host), `${host} is in the batch`);
  });

  test('one host asked for three times in a batch is pinged once and all three get its reply', async () => {
    const wrapper = counting('fping-dupes', fping);
    const prober = createIcmpProbe({ fpingPath: wrapper.path });
    const results = await probeEach(prober, ['127.0.0.1', '127.0.0.1', '127.0.0.2', '127.0.0.1'].map((host) => icmpTarget(host)));
    prober.close();
    assert.ok(results.every((result) => result.ok));
    assert.equal(results[0]!.latencyMs, results[1]!.latencyMs, 'the same echo fanned out');
    const calls = wrapper.calls();
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.split(' ').filter((arg) => arg === '127.0.0.1').length, 1);
  });

  test('probes with different timeouts go to separate fping processes, each with its own wait', async () => {
    const wrapper = counting('fping-timeouts', fping);
    const prober = createIcmpProbe({ fpingPath: wrapper.path });
    const results = await probeEach(prober, [icmpTarget('127.0.0.1', 1000), icmpTarget('127.0.0.2', 2000)]);
    prober.close();
    assert.ok(results.every((result) => result.ok));
    const waits = wrapper.calls().map((call) => Number(/-t (\d+)/.exec(call)?.[1])).sort((a, b) => a - b);
    assert.equal(waits.length, 2);
    assert.ok(waits[0]! <= 1000 && waits[0]! > 800 && waits[1]! <= 2000 && waits[1]! > 1800, `waits ${waits}`);
  });

  test('a big batch is split so that each fping sends its last echo well within the timeout', async () => {
    const wrapper = counting('fping-split', fping);
    const prober = createIcmpProbe({ fpingPath: wrapper.path });
    const hosts = Array.from({ length: 600 }, (_, i) => `127.0.${2 + Math.floor(i / 200)}.${(i % 200) + 1}`);
    const results = await probeEach(prober, hosts.map((host) => icmpTarget(host, 2000)));
    prober.close();
    assert.deepEqual(results.filter((result) => !result.ok).map((result) => result.error), []);
    const sizes = wrapper.calls().map((call) => call.split(' ').filter((arg) => arg.startsWith('127.')).length);
    assert.equal(sizes.reduce((sum, size) => sum + size, 0), 600);
    // fping spaces its echoes about 2 ms apart: the last of a process goes out within half the timeout.
    assert.ok(sizes.length > 1 && sizes.every((size) => size * 2 <= 2000 / 2), `hosts per fping: ${sizes.join(', ')}`);
  });

  /** A wrapper that records where its stdout and stderr lead (`/proc/self/fd`), then execs fping. */
  const outputRecording = (name: string): { path: string; outputs(): Promise<string[]> } => {
    const log = join(dir, `${name}.fds`);
    return {
      path: script(name, [
        'stdout=$(readlink /proc/$$/fd/1) && stderr=$(readlink /proc/$$/fd/2)',
        `printf '%s\\n' "$stdout" "$stderr" > '${log}.part' && mv '${log}.part' '${log}'`,
        `exec '${fping}' "$@"`,
      ].join('\n')),
      outputs: async () => (await fileText(log)).trim().split('\n'),
    };
  };

  test('fping writes into a file unlinked at once, read when it ends; nothing is left behind', { skip: existsSync('/proc/self/fd') ? false : 'needs /proc' }, async () => {
    const outputDir = mkdtempSync(join(dir, 'out-'));
    const wrapper = outputRecording('fping-to-file');
    const prober = createIcmpProbe({ fpingPath: wrapper.path, outputDir });
    const results = await probeEach(prober, ['127.0.0.1', '127.0.0.2'].map((host) => icmpTarget(host)));
    prober.close();
    assert.deepEqual(results.map((result) => result.error), [undefined, undefined]);
    assert.ok(results.every((result) => result.ok && result.latencyMs > 0));
    const [stdout, stderr] = await wrapper.outputs();
    assert.match(stdout!, new RegExp(`^${outputDir}/probebot-fping-[0-9a-f-]+ \\(deleted\\)$`));
    assert.equal(stderr, stdout, 'both streams share the file');
    assert.deepEqual(readdirSync(outputDir), []);
  });

  test('where no file can be made, fping output goes through pipes, and the log says so once', { skip: existsSync('/proc/self/fd') ? false : 'needs /proc' }, async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write(chunk, _encoding, done) { lines.push(String(chunk)); done(); } }));
    const wrapper = outputRecording('fping-to-pipe');
    const prober = createIcmpProbe({ fpingPath: wrapper.path, outputDir: join(dir, 'no-such-dir'), logger });
    for (let round = 0; round < 2; round += 1) {
      const results = await probeEach(prober, ['127.0.0.1', '127.0.0.2'].map((host) => icmpTarget(host)));
      assert.deepEqual(results.map((result) => result.ok), [true, true]);
    }
    prober.close();
    const [stdout, stderr] = await wrapper.outputs();
    // libuv makes a child's pipes from socket pairs.
    assert.match(stdout!, /^(pipe|socket):\[/);
    assert.match(stderr!, /^(pipe|socket):\[/);
    assert.equal(lines.length, 1, lines.join(''));
    assert.match(lines[0]!, /fping output goes through pipes/);
  });

  for (const capture of ['file', 'pipes'] as const) {
    test(`at the deadline, replies fping has already printed still count (output through ${capture})`, async () => {
      const pidFile = join(dir, `fping-slow-${capture}.pid`);
      const slow = script(`fping-slow-${capture}`, [
        `echo '127.0.0.1 : [0], 64 bytes, 0.040 ms (0.040 avg, 0% loss)'`,
        `echo $$ > '${pidFile}'`,
        'exec sleep 30',
      ].join('\n'));
      const outputDir = capture === 'file' ? dir : join(dir, 'no-such-dir');
      const prober = createIcmpProbe({ fpingPath: slow, outputDir });
      const signal = new AbortController().signal;
      const [replied, silent] = await Promise.all(['127.0.0.1', '127.0.0.2'].map((host) => prober.probe(icmpTarget(host, 300), signal)));
      assert.equal(replied!.ok, true, replied!.error);
      assert.equal(replied!.latencyMs, 0.04);
      assert.equal(silent!.error, 'no echo reply from 127.0.0.2 within 300ms');
      assert.ok(await processGone(Number(await fileText(pidFile))));
      prober.close();
    });
  }

  test('the deadline resolves the probe at once and kills fping', async () => {
    const pidFile = join(dir, 'fping-hangs.pid');
    const hanging = script('fping-hangs', `echo $$ > '${pidFile}'\nexec sleep 30`);
    const prober = createIcmpProbe({ fpingPath: hanging });
    const { signal } = deadline(200);
    const started = performance.now();
    const result = await prober.probe(icmpTarget('127.0.0.1', 200), signal);
    const elapsed = performance.now() - started;
    assert.equal(result.ok, false);
    assert.equal(result.error, 'timeout after 200ms (waiting for echo reply)');
    assert.ok(elapsed < 500, `resolved after ${elapsed}ms`);
    const pid = Number(await fileText(pidFile));
    assert.ok(await processGone(pid), `fping (pid ${pid}) still runs`);
    prober.close();
  });

  test('the deadline resolves the probe at once and kills ping', async () => {
    const pidFile = join(dir, 'ping-hangs.pid');
    const hanging = script('ping-hangs', `[ "$1" = -V ] && { echo 'ping from iputils 20221126'; exit 0; }\necho $$ > '${pidFile}'\nexec sleep 30`);
    const prober = createIcmpProbe({ fpingPath: null, pingPath: hanging });
    const { signal } = deadline(200);
    const started = performance.now();
    const result = await prober.probe(icmpTarget('127.0.0.1', 200), signal);
    assert.equal(result.error, 'timeout after 200ms (waiting for echo reply)');
    assert.ok(performance.now() - started < 500);
    const pid = Number(await fileText(pidFile));
    assert.ok(await processGone(pid), `ping (pid ${pid}) still runs`);
    prober.close();
  });

  test('a child never outlives the timeout, even when the caller\'s signal never aborts', async () => {
    const pidFile = join(dir, 'fping-no-deadline.pid');
    const hanging = script('fping-no-deadline', `echo $$ > '${pidFile}'\nexec sleep 30`);
    const prober = createIcmpProbe({ fpingPath: hanging });
    const started = performance.now();
    const result = await prober.probe(icmpTarget('127.0.0.1', 200), new AbortController().signal);
    const elapsed = performance.now() - started;
    assert.equal(result.error, 'no echo reply from 127.0.0.1 within 200ms');
    assert.ok(elapsed >= 190 && elapsed < 500, `resolved after ${elapsed}ms`);
    assert.ok(await processGone(Number(await fileText(pidFile))));
    prober.close();
  });

  test('close() resolves waiting probes as aborted, kills the child and leaves nothing running', async () => {
    const pidFile = join(dir, 'fping-close.pid');
    const hanging = script('fping-close', `echo $$ > '${pidFile}'\nexec sleep 30`);
    const timersBefore = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const prober = createIcmpProbe({ fpingPath: hanging });
    const signal = new AbortController().signal;
    const pending = [prober.probe(icmpTarget('127.0.0.1', 5000), signal), prober.probe(icmpTarget('127.0.0.2', 5000), signal)];
    const pid = Number(await fileText(pidFile));
    prober.close();
    const results = await Promise.all(pending);
    assert.deepEqual(results.map((result) => result.error), ['aborted (waiting for echo reply)', 'aborted (waiting for echo reply)']);
    assert.ok(await processGone(pid));
    for (const end = Date.now() + 1000; process.getActiveResourcesInfo().includes('ProcessWrap') && Date.now() < end;) await sleep(10);
    const resources = process.getActiveResourcesInfo();
    assert.ok(!resources.includes('ProcessWrap'), `still active: ${resources.join(', ')}`);
    assert.equal(resources.filter((kind) => kind === 'Timeout').length, timersBefore, 'no timer left');
    assert.equal(getEventListeners(signal, 'abort').length, 0);
    const late = await prober.probe(icmpTarget('127.0.0.1'), signal);
    assert.equal(late.error, 'aborted (waiting for echo reply)', 'a closed prober starts nothing');
  });

  test('a probe whose signal has already aborted spawns nothing', async () => {
    const wrapper = counting('fping-aborted', fping);
    const prober = createIcmpProbe({ fpingPath: wrapper.path });
    const result = await prober.probe(icmpTarget('127.0.0.1', 300), AbortSignal.abort(deadlineReason(300)));
    await sleep(20);
    prober.close();
    assert.equal(result.error, 'timeout after 300ms (waiting for echo reply)');
    assert.equal(wrapper.calls().length, 0);
  });

  test('fping naming an unknown host fails that host only, with fping\'s reason', async () => {
    // Replays output captured from fping 5.1 for "nosuch.invalid 127.0.0.1" (no real DNS query).
    const fake = script('fping-unknown', [
      `echo '127.0.0.1 : [0], 64 bytes, 0.040 ms (0.040 avg, 0% loss)'`,
      `echo 'nosuch.invalid: Name or service not known' >&2`,
      `echo '127.0.0.1 : xmt/rcv/%loss = 1/1/0%, min/avg/max = 0.040/0.040/0.040' >&2`,
      'exit 2',
    ].join('\n'));
    const prober = createIcmpProbe({ fpingPath: fake });
    const { signal, cancel } = deadline(2000);
    const [unknown, known] = await Promise.all([prober.probe(icmpTarget('nosuch.invalid'), signal), prober.probe(icmpTarget('127.0.0.1'), signal)]);
    cancel();
    prober.close();
    assert.equal(unknown!.error, 'fping: host unknown: nosuch.invalid (Name or service not known)');
    assert.equal(known!.ok, true);
    assert.equal(known!.latencyMs, 0.04);
  });

  test('fping failing as a whole fails its probes with its message', async () => {
    const cases = [
      { body: `echo "fping: can't create socket (must run as root?)" >&2\nexit 4`, error: "fping failed (exit code 4): fping: can't create socket (must run as root?)" },
      {
        body: `echo 'fping: these options are too risky for mere mortals.' >&2\necho 'fping: You need -i >= 1 and -p >= 10' >&2\nexit 1`,
        error: 'fping failed (exit code 1): fping: these options are too risky for mere mortals.',
      },
      { body: 'exit 2', error: 'fping: host unknown: 127.0.0.1' },
    ];
    for (const [i, c] of cases.entries()) {
      const prober = createIcmpProbe({ fpingPath: script(`fping-broken-${i}`, c.body) });
      const { signal, cancel } = deadline(2000);
      const result = await prober.probe(icmpTarget('127.0.0.1'), signal);
      cancel();
      prober.close();
      assert.equal(result.error, c.error);
    }
  });

  test('a missing binary fails probes with a clear error and is logged once', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write(chunk, _encoding, done) { lines.push(String(chunk)); done(); } }));
    const prober = createIcmpProbe({ fpingPath: join(dir, 'no-such-fping'), logger });
    for (let round = 0; round < 2; round += 1) {
      const { signal, cancel } = deadline(2000);
      const result = await prober.probe(icmpTarget('127.0.0.1'), signal);
      cancel();
      assert.match(result.error ?? '', /^cannot run fping \(.*no-such-fping\): spawn .*ENOENT/);
    }
    prober.close();
    assert.equal(lines.length, 1, lines.join(''));
  });

  test('with neither tool, probes fail with the startup error text', async () => {
    const prober = createIcmpProbe({ fpingPath: null, pingPath: null });
    const result = await prober.probe(icmpTarget('127.0.0.1'), new AbortController().signal);
    prober.close();
    assert.equal(result.error, ICMP_TOOLS_MISSING);
  });

  describe('echo loss, in a private network namespace that ignores echo requests', { skip: canIsolateLoopback() ? false : 'needs unshare -n (root or user namespaces)' }, () => {
    const isolated = (name: string, real: string): string =>
      script(name, `exec unshare -n sh -c 'ip link set lo up && sysctl -q -w net.ipv4.icmp_echo_ignore_all=1 && exec "$0" "$@"' '${real}' "$@"`);

    test('fping reports no reply for 127.0.0.9 and still a reply for ::1 in the same batch', async () => {
      const prober = createIcmpProbe({ fpingPath: isolated('fping-isolated', fping) });
      const signal = new AbortController().signal;
      const hosts = hasIpv6Loopback ? ['127.0.0.9', '::1'] : ['127.0.0.9'];
      const results = await Promise.all(hosts.map((host) => prober.probe(icmpTarget(host, 300), signal)));
      prober.close();
      assert.equal(results[0]!.error, 'no echo reply from 127.0.0.9 within 300ms');
      if (hasIpv6Loopback) assert.equal(results[1]!.ok, true, results[1]!.error);
    });

    test('ping reports no reply for 127.0.0.9', async () => {
      const prober = createIcmpProbe({ fpingPath: null, pingPath: isolated('ping-isolated', ping) });
      const result = await prober.probe(icmpTarget('127.0.0.9', 300), new AbortController().signal);
      prober.close();
      assert.equal(result.error, 'no echo reply from 127.0.0.9 within 300ms');
    });
  });
});

describe('finding fping and ping', () => {
  test('both are found on the PATH here, and each one runs', async () => {
    const tools = await detectIcmpTools({ path: '/nonexistent:/usr/bin:/bin' });
    assert.equal(tools.fping, '/usr/bin/fping');
    assert.equal(tools.ping, '/usr/bin/ping');
    assert.equal(icmpToolsProblem(tools, 'linux'), undefined);
  });

  test('a PATH with neither gives nulls and the startup error text', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'probebot-empty-path-'));
    try {
      const broken = join(empty, 'fping');
      writeFileSync(broken, '#!/bin/sh\nexit 127\n'); // what the loader says when it cannot start a binary
      chmodSync(broken, 0o755);
      const tools = await detectIcmpTools({ path: empty });
      assert.deepEqual(tools, { fping: null, ping: null });
      assert.equal(icmpToolsProblem(tools, 'linux'), 'ICMP targets need fping or ping on PATH (Debian: apt-get install fping iputils-ping)');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test('Windows is declared unsupported', async () => {
    const tools = await detectIcmpTools({ platform: 'win32' });
    assert.deepEqual(tools, { fping: null, ping: null });
    assert.match(icmpToolsProblem(tools, 'win32') ?? '', /not supported on Windows/);
  });
});

// Captured from fping 5.1 and ping (iputils 20221126) on Debian 12; loss samples from a network
// namespace with net.ipv4.icmp_echo_ignore_all=1, name errors from one without a resolver.
describe('reading fping output', () => {
  const cases: Array<{ line: string; expected: FpingLine | null }> = [
    { line: '127.0.0.1 : [0], 64 bytes, 0.041 ms (0.041 avg, 0% loss)', expected: { kind: 'reply', host: '127.0.0.1', rttMs: 0.041 } },
    { line: '::1       : [0], 64 bytes, 0.045 ms (0.045 avg, 0% loss)', expected: { kind: 'reply', host: '::1', rttMs: 0.045 } },
    { line: '0:0:0:0:0:0:0:1 : [0], 64 bytes, 0.046 ms (0.046 avg, 0% loss)', expected: { kind: 'reply', host: '0:0:0:0:0:0:0:1', rttMs: 0.046 } },
    { line: 'LOCALHOST       : [0], 64 bytes, 0.022 ms (0.022 avg, 0% loss)', expected: { kind: 'reply', host: 'LOCALHOST', rttMs: 0.022 } },
    { line: '127.0.0.9 : [0], timed out (NaN avg, 100% loss)', expected: { kind: 'timeout', host: '127.0.0.9' } },
    { line: '::1       : [0], timed out (NaN avg, 100% loss)', expected: { kind: 'timeout', host: '::1' } },
    { line: '127.0.0.1 : xmt/rcv/%loss = 1/1/0%, min/avg/max = 0.043/0.043/0.043', expected: { kind: 'summary', host: '127.0.0.1', sent: 1, received: 1, rttMs: 0.043 } },
    { line: '::1       : xmt/rcv/%loss = 1/1/0%, min/avg/max = 0.117/0.117/0.117', expected: { kind: 'summary', host: '::1', sent: 1, received: 1, rttMs: 0.117 } },
    { line: '127.0.0.9 : xmt/rcv/%loss = 1/0/100%', expected: { kind: 'summary', host: '127.0.0.9', sent: 1, received: 0 } },
    { line: 'nosuch.invalid: Name or service not known', expected: { kind: 'host-error', host: 'nosuch.invalid', message: 'Name or service not known' } },
    { line: 'nosuch.invalid: Temporary failure in name resolution', expected: { kind: 'host-error', host: 'nosuch.invalid', message: 'Temporary failure in name resolution' } },
    { line: '-foo: Name or service not known', expected: { kind: 'host-error', host: '-foo', message: 'Name or service not known' } },
    { line: '[::1]: Name or service not known', expected: { kind: 'host-error', host: '[::1]', message: 'Name or service not known' } },
    { line: 'fping: data size 100000 not valid, must be lower than 65488', expected: { kind: 'tool-error', message: 'fping: data size 100000 not valid, must be lower than 65488' } },
    { line: '', expected: null },
  ];
  for (const c of cases) {
    test(`"${c.line}"`, () => assert.deepEqual(parseFpingLine(c.line), c.expected));
  }

  test('names in errors: unknown hosts said plainly, other failures in the tool\'s words', () => {
    assert.equal(describeHostError('fping', 'nosuch.invalid', 'Name or service not known'), 'fping: host unknown: nosuch.invalid (Name or service not known)');
    assert.equal(describeHostError('fping', 'db.internal', 'Temporary failure in name resolution'), 'fping: db.internal: Temporary failure in name resolution');
    assert.equal(describeHostError('ping', 'nosuch.invalid', 'Unknown host'), 'ping: host unknown: nosuch.invalid (Unknown host)');
  });

  test('one echo per host, the wait in whole ms, hosts after -- so none is read as an option', () => {
    assert.deepEqual(fpingArguments(['127.0.0.1', '-foo'], 950.7, 1), ['-c', '1', '-t', '950', '-i', '1', '--', '127.0.0.1', '-foo']);
    assert.deepEqual(fpingArguments(['127.0.0.1'], -5, 1).slice(2, 4), ['-t', '1']);
  });
});

describe('reading ping output', () => {
  const reply = (host: string, from: string, ms: string) => [
    `PING ${host} (${from}) 56(84) bytes of data.`,
    `64 bytes from ${from}: icmp_seq=1 ttl=64 time=${ms} ms`,
    '',
    `--- ${host} ping statistics ---`,
    '1 packets transmitted, 1 received, 0% packet loss, time 0ms',
    `rtt min/avg/max/mdev = ${ms}/${ms}/${ms}/0.000 ms`,
  ].join('\n');
  const cases: Array<{ name: string; stdout: string; stderr?: string; host: string; expected: PingOutcome }> = [
    { name: 'a reply over IPv4', stdout: reply('127.0.0.1', '127.0.0.1', '0.043'), host: '127.0.0.1', expected: { replied: true, rttMs: 0.043 } },
    {
      name: 'a reply over IPv6',
      stdout: 'PING ::1(::1) 56 data bytes\n64 bytes from ::1: icmp_seq=1 ttl=64 time=0.091 ms\n\n--- ::1 ping statistics ---\n1 packets transmitted, 1 received, 0% packet loss, time 0ms\nrtt min/avg/max/mdev = 0.091/0.091/0.091/0.000 ms\n',
      host: '::1',
      expected: { replied: true, rttMs: 0.091 },
    },
    {
      name: 'a reply to a name',
      stdout: 'PING localhost (127.0.0.1) 56(84) bytes of data.\n64 bytes from localhost (127.0.0.1): icmp_seq=1 ttl=64 time=0.043 ms\n\n--- localhost ping statistics ---\n1 packets transmitted, 1 received, 0% packet loss, time 0ms\nrtt min/avg/max/mdev = 0.043/0.043/0.043/0.000 ms\n',
      host: 'localhost',
      expected: { replied: true, rttMs: 0.043 },
    },
    {
      name: 'no reply (IPv4)',
      stdout: 'PING 127.0.0.9 (127.0.0.9) 56(84) bytes of data.\n\n--- 127.0.0.9 ping statistics ---\n1 packets transmitted, 0 received, 100% packet loss, time 0ms\n\n',
      host: '127.0.0.9',
      expected: { replied: false, error: 'no echo reply from 127.0.0.9 within 300ms' },
    },
    {
      name: 'no reply (IPv6)',
      stdout: 'PING ::1(::1) 56 data bytes\n\n--- ::1 ping statistics ---\n1 packets transmitted, 0 received, 100% packet loss, time 0ms\n\n',
      host: '::1',
      expected: { replied: false, error: 'no echo reply from ::1 within 300ms' },
    },
    { name: 'an unknown host', stdout: '', stderr: 'ping: nosuch.invalid: Name or service not known\n', host: 'nosuch.invalid', expected: { replied: false, error: 'ping: host unknown: nosuch.invalid (Name or service not known)' } },
    { name: 'no resolver', stdout: '', stderr: 'ping: nosuch.invalid: Temporary failure in name resolution\n', host: 'nosuch.invalid', expected: { replied: false, error: 'ping: nosuch.invalid: Temporary failure in name resolution' } },
    { name: 'no route (loopback down)', stdout: '', stderr: 'ping: connect: Network is unreachable\n', host: '127.0.0.1', expected: { replied: false, error: 'ping: connect: Network is unreachable' } },
    { name: 'nothing at all', stdout: '', host: '127.0.0.1', expected: { replied: false } },
  ];
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(parsePingOutput(c.stdout, c.stderr ?? '', c.host, 300), c.expected));
  }

  test('iputils takes a fractional -W since s20190324; older builds and others get whole seconds', () => {
    assert.equal(pingTakesFractionalWait('ping from iputils 20221126\nlibcap: yes, IDN: yes, NLS: no, error.h: yes, getrandom(): yes, __fpending(): yes\n'), true);
    assert.equal(pingTakesFractionalWait('ping from iputils s20190709'), true);
    assert.equal(pingTakesFractionalWait('ping utility, iputils-s20161105'), false);
    assert.equal(pingTakesFractionalWait('ping: invalid option -- V\nBusyBox v1.36.1'), false);
    assert.deepEqual(pingArguments('127.0.0.1', 250, 'iputils', true), ['-n', '-c', '1', '-W', '0.250', '--', '127.0.0.1']);
    assert.deepEqual(pingArguments('127.0.0.1', 1500, 'iputils', false), ['-n', '-c', '1', '-W', '2', '--', '127.0.0.1']);
  });

  test('macOS and FreeBSD: -W in milliseconds and -t as a deadline; Windows unsupported', () => {
    assert.deepEqual(pingArguments('127.0.0.1', 1500, 'bsd', false), ['-n', '-c', '1', '-W', '1500', '-t', '2', '--', '127.0.0.1']);
    assert.equal(pingFlavour('darwin'), 'bsd');
    assert.equal(pingFlavour('freebsd'), 'bsd');
    assert.equal(pingFlavour('linux'), 'iputils');
    assert.equal(pingFlavour('win32'), 'unsupported');
  });
});
