import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HttpTarget } from '../../src/config/schema.js';
import { AdhocGuard, type AdhocCheck, type ResolveHost } from '../../src/slack/adhoc-guard.js';
import { canonicalHost, parseIp, parseRange } from '../../src/slack/ip-address.js';

/** A resolver from a map (names the system cannot resolve), counting look-ups. */
function resolverMap(map: Record<string, string[] | 'hang'>): ResolveHost & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (name: string, signal: AbortSignal) => {
    calls.push(name);
    const answer = map[name];
    if (answer === 'hang') return new Promise<string[]>((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    if (answer === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return answer;
  };
  return Object.assign(resolve, { calls });
}

function guardFor(allow: string[], ports: number[] = [], map: Record<string, string[] | 'hang'> = {}) {
  const resolve = resolverMap(map);
  const { guard, problems } = AdhocGuard.create({ allow, ports, resolve, resolveTimeoutMs: 50 });
  assert.deepEqual(problems, []);
  return { guard, resolve };
}

const check = (guard: AdhocGuard, input: string) => guard.check(input, new AbortController().signal);

function allowed(result: AdhocCheck): Extract<AdhocCheck, { ok: true }> {
  assert.equal(result.ok, true, result.ok ? '' : result.reason);
  return result as Extract<AdhocCheck, { ok: true }>;
}

function refused(result: AdhocCheck, reason?: RegExp): void {
  assert.equal(result.ok, false, result.ok ? `allowed, connecting to ${result.connectTo}` : '');
  if (reason) assert.match(result.ok ? '' : result.reason, reason);
}

describe('ad-hoc probe policy', () => {
  test('off by default: refused, with how to turn it on, and nothing resolved', async () => {
    const { guard, resolve } = guardFor([], [], { 'a.test': ['127.0.0.1'] });
    assert.equal(guard.enabled, false);
    refused(await check(guard, 'a.test'), /Ad-hoc probes are off.*slack\.adhoc\.allow/);
    refused(await check(guard, '127.0.0.1:22'), /off/);
    assert.deepEqual(resolve.calls, []);
  });

  describe('every spelling of an address is judged as the address (only 127.0.0.2 allowed)', () => {
    const spellings: Array<[string, string | undefined]> = [
      ['127.0.0.1', undefined],
      ['127.0.0.2', '127.0.0.2'],
      ['2130706433:80', undefined],
      ['2130706434:80', '127.0.0.2'],
      ['http://2130706433/', undefined],
      ['http://0x7f000001/', undefined],
      ['http://0x7f000002/', '127.0.0.2'],
      ['0x7f000001:22', undefined],
      ['http://0177.0.0.1/', undefined],
      ['http://0177.0.0.2/', '127.0.0.2'],
      ['0177.0.0.1:22', undefined],
      ['127.1:22', undefined],
      ['http://0x7f.1/', undefined],
      ['127.0.0.1.', undefined],
      ['127.0.0.2.', '127.0.0.2'],
      ['http://[::ffff:127.0.0.1]/', undefined],
      ['http://[::ffff:127.0.0.2]/', '127.0.0.2'],
      ['[::ffff:7f00:2]:22', '127.0.0.2'],
      ['[0:0:0:0:0:ffff:7f00:1]:22', undefined],
      ['http://127.0.0.2@127.0.0.1/', undefined],
      ['http://127.0.0.1@127.0.0.2/', '127.0.0.2'],
      ['http://user:pw@127.0.0.1:8080/', undefined],
      ['HTTP://127.0.0.2/', '127.0.0.2'],
      ['http://127%2e0.0.1/', undefined],
    ];
    for (const [input, connectTo] of spellings) {
      test(`${input} → ${connectTo ?? 'refused'}`, async () => {
        const { guard, resolve } = guardFor(['127.0.0.2/32']);
        const result = await check(guard, input);
        if (connectTo === undefined) refused(result, /not allowed for ad-hoc probes\. Allowed: 127\.0\.0\.2\/32/);
        else assert.equal(allowed(result).connectTo, connectTo);
        assert.deepEqual(resolve.calls, [], 'an IP literal is never looked up');
      });
    }
  });

  test('a URL with user info is shown and probed without it', async () => {
    const { guard } = guardFor(['127.0.0.2/32']);
    const result = allowed(await check(guard, 'http://user:secret@127.0.0.2:8080/x'));
    assert.equal(result.shown, 'http://127.0.0.2:8080/x');
    assert.equal((result.target as HttpTarget).url, 'http://127.0.0.2:8080/x');
  });

  describe('IPv6', () => {
    const cases: Array<[string, string | undefined]> = [
      ['[::1]:22', '::1'],
      ['::1', '::1'],
      ['http://[0:0:0:0:0:0:0:1]:8080/', '::1'],
      ['[::2]:22', undefined],
      ['[::ffff:127.0.0.1]:22', undefined],
    ];
    for (const [input, connectTo] of cases) {
      test(`${input} with ::1/128 allowed → ${connectTo ?? 'refused'}`, async () => {
        const { guard } = guardFor(['::1/128']);
        const result = await check(guard, input);
        if (connectTo === undefined) refused(result);
        else assert.equal(allowed(result).connectTo, connectTo);
      });
    }

    test('a NAT64 address must be allowed as itself and as the IPv4 address behind it', async () => {
      refused(await check(guardFor(['64:ff9b::/96']).guard, '64:ff9b::7f00:1'), /not allowed/);
      assert.equal(allowed(await check(guardFor(['64:ff9b::/96', '10.0.0.0/8']).guard, '64:ff9b::a00:1')).connectTo, '64:ff9b::a00:1');
    });
  });

  describe('names are resolved, and every address they resolve to must be allowed', () => {
    const map = { 'good.test': ['127.0.0.2'], 'evil.test': ['127.0.0.1'], 'mixed.test': ['127.0.0.2', '127.0.0.1'], 'mapped.test': ['::ffff:127.0.0.1'], 'slow.test': 'hang' as const };

    test('a name resolving to a forbidden address is refused, naming the address', async () => {
      const { guard } = guardFor(['127.0.0.2/32'], [], map);
      refused(await check(guard, 'evil.test:22'), /`evil\.test` resolves to 127\.0\.0\.1, which is not allowed/);
      refused(await check(guard, 'http://mixed.test/'), /127\.0\.0\.1/);
      refused(await check(guard, 'mapped.test'), /::ffff:7f00:1/);
    });

    test('an allowed name is pinned to the address that was checked, keeping the name for HTTP', async () => {
      const { guard, resolve } = guardFor(['127.0.0.2/32'], [], map);
      const result = allowed(await check(guard, 'HTTP://Good.Test.:8080/health?x=1'));
      const target = result.target as HttpTarget;
      assert.equal(target.url, 'http://127.0.0.2:8080/health?x=1');
      assert.deepEqual(target.headers, { host: 'good.test.:8080' });
      assert.equal(target.followRedirects, false, 'redirects are never followed');
      assert.equal(result.connectTo, '127.0.0.2');
      assert.match(result.notes.join(' '), /redirects are not followed/);
      assert.deepEqual(resolve.calls, ['good.test']);
      const tcp = allowed(await check(guard, 'good.test:5432'));
      assert.deepEqual([tcp.target.type, 'host' in tcp.target ? tcp.target.host : '', tcp.shown], ['tcp', '127.0.0.2', 'good.test:5432']);
    });

    test('https is pinned too, keeping the name for TLS and verifying the certificate', async () => {
      const { guard } = guardFor(['127.0.0.2/32'], [], map);
      const result = allowed(await check(guard, 'https://good.test/'));
      const target = result.target as HttpTarget;
      assert.equal(target.url, 'https://127.0.0.2/');
      assert.deepEqual(target.headers, { host: 'good.test' }, 'the Host header names the server for SNI');
      assert.equal(target.insecure, false);
      assert.doesNotMatch(result.notes.join(' '), /certificate/);
    });

    test('a name that does not resolve, or not in time, is refused', async () => {
      const { guard } = guardFor(['127.0.0.0/8'], [], map);
      refused(await check(guard, 'nowhere.test'), /does not resolve \(ENOTFOUND\)/);
      const started = performance.now();
      refused(await check(guard, 'slow.test'), /did not resolve within 50 ms/);
      assert.ok(performance.now() - started < 1000);
    });
  });

  describe('host patterns vouch for names, not for where they point', () => {
    const map = {
      'api.default.svc.cluster.local': ['10.1.2.3'],
      'meta.svc.cluster.local': ['169.254.169.254'],
      'lo.svc.cluster.local': ['127.0.0.1'],
      'mapped.svc.cluster.local': ['::ffff:127.0.0.1'],
      'v6meta.svc.cluster.local': ['fd00:ec2::254'],
      'ula.svc.cluster.local': ['fd12::1'],
      'evil.com': ['10.1.2.3'],
    };
    const cases: Array<[string, string | undefined]> = [
      ['api.default.svc.cluster.local', '10.1.2.3'],
      ['http://ula.svc.cluster.local/', 'fd12::1'],
      ['meta.svc.cluster.local', undefined],
      ['http://lo.svc.cluster.local/', undefined],
      ['mapped.svc.cluster.local:80', undefined],
      ['v6meta.svc.cluster.local', undefined],
    ];
    for (const [input, connectTo] of cases) {
      test(`${input} → ${connectTo ?? 'refused'}`, async () => {
        const { guard } = guardFor(['*.svc.cluster.local'], [], map);
        const result = await check(guard, input);
        if (connectTo === undefined) refused(result, /resolves to .*not allowed/);
        else assert.equal(allowed(result).connectTo, connectTo);
      });
    }

    test('names outside every pattern are refused without a DNS query when no CIDR could allow them', async () => {
      const { guard, resolve } = guardFor(['*.svc.cluster.local'], [], map);
      refused(await check(guard, 'evil.com'), /`evil\.com` is not allowed/);
      refused(await check(guard, 'svc.cluster.local'));
      refused(await check(guard, 'x.svc.cluster.local.evil.com'));
      refused(await check(guard, 'http://xsvc.cluster.local/'));
      assert.deepEqual(resolve.calls, []);
    });

    test('loopback through a pattern needs an explicit CIDR', async () => {
      const { guard } = guardFor(['*.svc.cluster.local', '127.0.0.0/8'], [], map);
      assert.equal(allowed(await check(guard, 'lo.svc.cluster.local')).connectTo, '127.0.0.1');
    });
  });

  describe('ports', () => {
    const map = { 'db.test': ['10.0.0.5'] };
    const cases: Array<[string, boolean]> = [
      ['http://10.0.0.1/', true],
      ['https://10.0.0.1/', true],
      ['http://10.0.0.1:443/', true],
      ['http://10.0.0.1:8080/', false],
      ['https://10.0.0.1:80/', true],
      ['10.0.0.1:22', false],
      ['10.0.0.1:443', true],
      ['10.0.0.1', true],
    ];
    for (const [input, ok] of cases) {
      test(`${input} with ports 80, 443 → ${ok ? 'allowed' : 'refused'}`, async () => {
        const { guard } = guardFor(['10.0.0.0/8'], [80, 443]);
        const result = await check(guard, input);
        if (ok) allowed(result);
        else refused(result, /^Port \d+ is not allowed.*Allowed: 10\.0\.0\.0\/8 on ports 80, 443/);
      });
    }

    test('a refused port is refused before the name is looked up', async () => {
      const { guard, resolve } = guardFor(['10.0.0.0/8'], [80], map);
      refused(await check(guard, 'db.test:5432'), /Port 5432/);
      assert.deepEqual(resolve.calls, []);
    });
  });

  test('input that is no address is refused as such', async () => {
    const { guard } = guardFor(['0.0.0.0/0']);
    for (const input of ['http://', 'ftp://10.0.0.1/', 'a_b c', '10.0.0.1:99999', 'host:port', '*.test']) {
      refused(await check(guard, input));
    }
  });

  test('allow entries that are neither CIDRs nor host patterns are reported', () => {
    const { problems } = AdhocGuard.create({ allow: ['10.0.0.0/33', 'foo*bar', '*.ok.test', '300.1.1.1', '10.0.0.0/8/1', 'db.example.com', '::1/128'], ports: [] });
    assert.deepEqual(problems.map((problem) => problem.match(/"([^"]+)"/)?.[1]), ['10.0.0.0/33', 'foo*bar', '300.1.1.1', '10.0.0.0/8/1']);
  });

  test('the policy is described the way it was written', () => {
    const { guard } = guardFor(['127.0.0.0/8', '::1', '*.svc.cluster.local'], [80, 443]);
    assert.equal(guard.describe(), '127.0.0.0/8, ::1/128, *.svc.cluster.local on ports 80, 443');
  });
});

describe('IP address parsing', () => {
  test('canonical forms', () => {
    assert.equal(parseIp('::ffff:127.0.0.1')?.text, '::ffff:7f00:1');
    assert.equal(parseIp('2001:DB8:0:0:1:0:0:1')?.text, '2001:db8::1:0:0:1');
    assert.equal(parseIp('[::]')?.text, '::');
    assert.equal(parseIp('1:2:3:4:5:6:7:8')?.text, '1:2:3:4:5:6:7:8');
    assert.equal(parseIp('01.2.3.4'), undefined, 'ambiguous octal is not silently read as decimal');
    assert.equal(parseRange('10.0.0.0/8')?.text, '10.0.0.0/8');
    assert.equal(parseRange('10.0.0.0/-1'), undefined);
  });

  test('hosts', () => {
    assert.deepEqual(canonicalHost('Example.COM.'), { kind: 'name', name: 'example.com' });
    assert.deepEqual(canonicalHost('bücher.ch'), { kind: 'name', name: 'xn--bcher-kva.ch' });
    assert.equal(canonicalHost('a@b'), undefined);
    assert.equal(canonicalHost('a..b'), undefined);
    assert.equal(canonicalHost('1.2.3.4.5'), undefined);
  });
});
