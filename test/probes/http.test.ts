import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { IncomingMessage } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { before, describe, test } from 'node:test';
import type { HttpTarget } from '../../src/config/schema.js';
import { checkBody, checkHeaders, checkJson, checkStatus } from '../../src/probes/http-checks.js';
import { probeHttp } from '../../src/probes/http.js';
import type { ProbeResult } from '../../src/probes/types.js';
import { selfSignedCertificate, type TestCertificate } from '../fakes/certs.js';
import { configuredTarget, deadline, startBlackholedPort, startHttpTarget, type HttpReply, type HttpTargetServer } from '../fakes/targets.js';

const runFile = promisify(execFile);

const httpTarget = (url: string, extra: Record<string, unknown> = {}) =>
  configuredTarget<HttpTarget>({ type: 'http', url, timeout: '2s', ...extra });

/** Runs `body` against a fresh target server and closes it afterwards. */
async function withServer(
  reply: Parameters<typeof startHttpTarget>[0],
  body: (server: HttpTargetServer) => Promise<void>,
  tls?: TestCertificate,
): Promise<void> {
  const server = await startHttpTarget(reply, tls);
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

/** Waits (bounded) until the server has no open connection left; returns how many remain. */
async function connectionsLeft(server: HttpTargetServer): Promise<number> {
  let open = await server.openConnections();
  for (let attempt = 0; attempt < 50 && open > 0; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    open = await server.openConnections();
  }
  return open;
}

describe('http probe', () => {
  test('a 200 passes and reports status, bytes and the phases', async () => {
    await withServer({ body: 'all good' }, async (server) => {
      const result = await probeHttp(httpTarget(`${server.url}/health`), deadline(2000));
      assert.equal(result.ok, true, result.error);
      assert.deepEqual(result.details, { status: 200, bytesRead: 8 });
      for (const phase of ['connect', 'firstByte', 'body'] as const) {
        assert.equal(typeof result.phases?.[phase], 'number', `phase ${phase}`);
      }
      assert.equal(result.phases?.dns, undefined);
      const summed = Object.values(result.phases ?? {}).reduce((sum, ms) => sum + ms, 0);
      assert.ok(summed <= result.latencyMs + 1, `phases ${summed}ms within latency ${result.latencyMs}ms`);
      assert.deepEqual(server.requests, ['GET /health']);
    });
  });

  test('sends the configured method, headers and body', async () => {
    let seen = '';
    const reply = (request: IncomingMessage): HttpReply => {
      seen = `${request.method} ${request.headers['x-probe']} ${request.headers['user-agent']}`;
      return { status: 201 };
    };
    await withServer(reply, async (server) => {
      const target = httpTarget(server.url, { method: 'POST', headers: { 'X-Probe': 'yes' }, body: '{}' });
      const result = await probeHttp(target, deadline(2000));
      assert.equal(result.ok, true, result.error);
      assert.equal(seen, 'POST yes probebot');
    });
  });

  test('a 500 fails against the expected status, and against any 2xx when none is given', async () => {
    await withServer({ status: 500, body: 'boom' }, async (server) => {
      const listed = await probeHttp(httpTarget(server.url, { expect: { status: [200] } }), deadline(2000));
      assert.equal(listed.error, 'status 500, expected 200');
      assert.equal(listed.details?.status, 500);
      const unset = await probeHttp(httpTarget(server.url), deadline(2000));
      assert.equal(unset.error, 'status 500, expected 2xx');
    });
  });

  test('body checks: contains and regex, passing and failing', async () => {
    await withServer({ body: 'status: ready' }, async (server) => {
      const check = async (expect: Record<string, unknown>) => (await probeHttp(httpTarget(server.url, { expect }), deadline(2000))).error;
      assert.equal(await check({ bodyContains: 'ready' }), undefined);
      assert.equal(await check({ bodyContains: 'ok' }), 'body does not contain "ok"');
      assert.equal(await check({ bodyRegex: '^status: (ready|degraded)$' }), undefined);
      assert.equal(await check({ bodyRegex: '^ready$' }), 'body does not match /^ready$/');
    });
  });

  test('negative body checks fail when the text is there', async () => {
    await withServer({ body: 'Down for maintenance' }, async (server) => {
      const check = async (expect: Record<string, unknown>) => (await probeHttp(httpTarget(server.url, { expect }), deadline(2000))).error;
      assert.equal(await check({ bodyNotContains: 'error' }), undefined);
      assert.equal(await check({ bodyNotContains: 'maintenance' }), 'body contains "maintenance"');
      assert.equal(await check({ bodyNotRegex: '^[Dd]own\\b' }), 'body matches /^[Dd]own\\b/');
      assert.equal(await check({ bodyNotRegex: '^up' }), undefined);
    });
  });

  test('header checks: each named header must be there and match, whatever the case of its name', async () => {
    const headers = { 'Content-Type': 'text/html; charset=utf-8', 'X-Ready': 'yes' };
    await withServer({ headers, body: '<p>ok</p>' }, async (server) => {
      const check = async (expect: Record<string, unknown>) => (await probeHttp(httpTarget(server.url, { expect }), deadline(2000))).error;
      assert.equal(await check({ headers: { 'content-type': '^text/html', 'X-READY': '^yes$' } }), undefined);
      assert.equal(await check({ headers: { 'Content-Type': 'json' } }), 'header content-type "text/html; charset=utf-8", expected /json/');
      assert.equal(await check({ headers: { 'X-Version': '.' } }), 'header x-version missing, expected /./');
    });
  });

  test('json checks: values by path compare strictly; a body that is not JSON says so', async () => {
    const body = JSON.stringify({ status: 'UP', version: 3, checks: [{ name: 'db', ok: false }], note: null });
    await withServer({ body }, async (server) => {
      const check = async (json: Record<string, unknown>) => (await probeHttp(httpTarget(server.url, { expect: { json } }), deadline(2000))).error;
      assert.equal(await check({ status: 'UP', version: 3, 'checks[0].name': 'db', note: null }), undefined);
      assert.equal(await check({ 'checks[0].ok': true }), 'json checks[0].ok is false, expected true');
      assert.equal(await check({ version: '3' }), 'json version is 3, expected "3"');
      assert.equal(await check({ 'checks[1].ok': true }), 'json checks[1].ok missing, expected true');
      assert.equal(await check({ 'status.code': 200 }), 'json status.code missing, expected 200');
    });
    await withServer({ body: '<html>' }, async (server) => {
      const result = await probeHttp(httpTarget(server.url, { expect: { json: { status: 'UP' } } }), deadline(2000));
      assert.match(result.error ?? '', /^body is not JSON \(.+\)$/);
    });
    await withServer({ body }, async (server) => {
      const result = await probeHttp(httpTarget(server.url, { maxBodyBytes: 10, expect: { json: { status: 'UP' } } }), deadline(2000));
      assert.equal(result.error, 'body is not complete JSON: only the first 10 bytes were read (maxBodyBytes)');
    });
  });

  test('a connection that is never accepted fails at the deadline while connecting', async (t) => {
    const blackhole = await startBlackholedPort().catch((error: Error) => error);
    if (blackhole instanceof Error) return t.skip(`no blackholed port on this system: ${blackhole.message}`);
    try {
      const result = await probeHttp(httpTarget(`http://${blackhole.host}:${blackhole.port}/`, { timeout: '200ms' }), deadline(200));
      assert.equal(result.error, 'timeout after 200ms (connecting)');
      assert.ok(result.latencyMs >= 190 && result.latencyMs < 700, `took ${result.latencyMs}ms`);
    } finally {
      await blackhole.close();
    }
  });

  test('headers that never come fail at the deadline while waiting for headers', async () => {
    await withServer({ body: 'late', delayMs: 5000 }, async (server) => {
      const result = await probeHttp(httpTarget(server.url, { timeout: '200ms' }), deadline(200));
      assert.equal(result.error, 'timeout after 200ms (waiting for headers)');
      assert.ok(result.latencyMs >= 190 && result.latencyMs < 700, `took ${result.latencyMs}ms`);
      assert.equal(await connectionsLeft(server), 0);
    });
  });

  test('a body that stalls after the headers fails at the deadline while waiting for body', async () => {
    await withServer({ body: 'partial', then: 'stall' }, async (server) => {
      const result = await probeHttp(httpTarget(server.url, { timeout: '300ms' }), deadline(300));
      assert.equal(result.ok, false);
      assert.equal(result.error, 'timeout after 300ms (waiting for body)');
      assert.ok(result.latencyMs >= 290 && result.latencyMs < 800, `took ${result.latencyMs}ms`);
      assert.equal(typeof result.phases?.firstByte, 'number');
      assert.equal(await connectionsLeft(server), 0, 'the stalled connection was closed');
    });
  });

  test('a shutdown while reading the body says aborted', async () => {
    await withServer({ body: 'partial', then: 'stall' }, async (server) => {
      const controller = new AbortController();
      const pending = probeHttp(httpTarget(server.url), controller.signal);
      setTimeout(() => controller.abort(new Error('stopping')), 100);
      assert.equal((await pending).error, 'aborted (waiting for body)');
    });
  });

  test('a never-ending body is read up to maxBodyBytes, checked on what was read, and the probe ends', async () => {
    await withServer({ body: 'ready\n', then: 'endless' }, async (server) => {
      const found = await probeHttp(httpTarget(server.url, { maxBodyBytes: 65536, expect: { bodyContains: 'ready' } }), deadline(2000));
      assert.equal(found.ok, true, found.error); // not the 2 s deadline: reading stopped at the cap
      assert.equal(found.details?.bytesRead, 65536);
      assert.equal(found.details?.truncated, true);

      const missing = await probeHttp(httpTarget(server.url, { maxBodyBytes: 1000, expect: { bodyContains: 'needle' } }), deadline(2000));
      assert.equal(missing.error, 'body does not contain "needle" (in the first 1000 bytes)');
      assert.equal(await connectionsLeft(server), 0, 'the endless stream was cut off');
    });
  });

  describe('redirects', () => {
    const routes = (request: IncomingMessage): HttpReply => {
      if (request.url === '/old') return { status: 302, headers: { location: '/new' } };
      if (request.url === '/loop') return { status: 307, headers: { location: '/loop' } };
      return { status: 200, body: 'arrived' };
    };

    test('are not followed by default: the 3xx is judged', async () => {
      await withServer(routes, async (server) => {
        const result = await probeHttp(httpTarget(`${server.url}/old`), deadline(2000));
        assert.equal(result.error, 'status 302, expected 2xx');
        const expected = await probeHttp(httpTarget(`${server.url}/old`, { expect: { status: [301, 302] } }), deadline(2000));
        assert.equal(expected.ok, true, expected.error);
        assert.deepEqual(server.requests, ['GET /old', 'GET /old']);
      });
    });

    test('are followed with followRedirects, up to maxRedirects', async () => {
      await withServer(routes, async (server) => {
        const followed = await probeHttp(httpTarget(`${server.url}/old`, { followRedirects: true, expect: { bodyContains: 'arrived' } }), deadline(2000));
        assert.equal(followed.ok, true, followed.error);
        assert.equal(followed.details?.redirects, 1);
        assert.equal(followed.details?.url, `${server.url}/new`);
        assert.deepEqual(server.requests, ['GET /old', 'GET /new']);

        const looping = await probeHttp(httpTarget(`${server.url}/loop`, { followRedirects: true, maxRedirects: 2 }), deadline(2000));
        assert.equal(looping.error, 'more than 2 redirects (last status 307)');
        assert.equal(server.requests.length, 2 + 3);
      });
    });

    test('to another origin, without the credentials and the Host header meant for the first', async () => {
      const seen: IncomingMessage['headers'][] = [];
      await withServer((request) => (seen.push(request.headers), { status: 200, body: 'arrived' }), async (other) => {
        await withServer({ status: 302, headers: { location: `${other.url}/there` } }, async (first) => {
          const headers = { host: 'first.test', authorization: 'Bearer s3cret', cookie: 'session=1', 'x-team': 'sre' };
          const result = await probeHttp(httpTarget(`${first.url}/here`, { followRedirects: true, headers }), deadline(2000));
          assert.equal(result.ok, true, result.error);
        });
        assert.equal(seen.length, 1);
        assert.deepEqual([seen[0]?.host, seen[0]?.authorization, seen[0]?.cookie, seen[0]?.['x-team']], [new URL(other.url).host, undefined, undefined, 'sre']);
      });
    });
  });

  test('every probe opens a fresh connection', async () => {
    await withServer({ body: 'ok' }, async (server) => {
      for (let probe = 0; probe < 3; probe++) {
        const result = await probeHttp(httpTarget(server.url), deadline(2000));
        assert.equal(result.ok, true, result.error);
      }
      assert.equal(server.connections, 3);
      assert.equal(await connectionsLeft(server), 0);
    });
  });

  test('a refused connection fails with the connect error', async () => {
    const listener = createServer().listen(0, '127.0.0.1');
    await once(listener, 'listening');
    const { port } = listener.address() as AddressInfo;
    await new Promise<void>((resolve) => listener.close(() => resolve()));
    const result = await probeHttp(httpTarget(`http://127.0.0.1:${port}/`), deadline(2000));
    assert.equal(result.error, `connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  describe('over https', () => {
    let longLived: TestCertificate;
    let expiringSoon: TestCertificate;
    before(async () => {
      [longLived, expiringSoon] = await Promise.all([selfSignedCertificate(365), selfSignedCertificate(3)]);
    });

    // The certificates are self-signed and a target cannot name a CA, so these use insecure:
    // certValidFor is checked either way.
    test('a certificate expiring within certValidFor fails with the days left', async () => {
      await withServer({ body: 'ok' }, async (server) => {
        const result = await probeHttp(httpTarget(server.url, { insecure: true, expect: { certValidFor: '14d' } }), deadline(2000));
        assert.equal(result.error, 'certificate expires in 2 days (< 14d)');
        assert.equal(result.details?.certDaysLeft, 2);
      }, expiringSoon);
    });

    test('a long-lived certificate passes, with a tls phase', async () => {
      await withServer({ body: 'ok' }, async (server) => {
        const result = await probeHttp(httpTarget(server.url, { insecure: true, expect: { certValidFor: '14d' } }), deadline(2000));
        assert.equal(result.ok, true, result.error);
        assert.equal(result.details?.certDaysLeft, 364);
        assert.equal(typeof result.phases?.tls, 'number');
      }, longLived);
    });

    test('a URL with an address and a Host header sends that name as SNI', async () => {
      await withServer({ body: 'ok' }, async (server) => {
        const port = new URL(server.url).port;
        const result = await probeHttp(httpTarget(server.url, { insecure: true, headers: { host: `sni-name.test.:${port}` } }), deadline(2000));
        assert.equal(result.ok, true, result.error);
        await probeHttp(httpTarget(server.url, { insecure: true }), deadline(2000));
        assert.deepEqual(server.serverNames, ['sni-name.test', false], 'the name without its trailing dot; no SNI for a bare address');
      }, longLived);
    });

    test('the certificate is checked against the Host name, not the address', async () => {
      // A child process that trusts the test certificate (Node reads NODE_EXTRA_CA_CERTS at start).
      const dir = await mkdtemp(join(tmpdir(), 'probebot-ca-'));
      try {
        await writeFile(join(dir, 'ca.pem'), longLived.cert);
        await withServer({ body: 'ok' }, async (server) => {
          const probeAs = async (host: string): Promise<ProbeResult> => {
            const script = [
              `import { probeHttp } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, '../../src/probes/http.ts')).href)};`,
              `import { configuredTarget, deadline } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, '../fakes/targets.ts')).href)};`,
              `const target = configuredTarget({ type: 'http', url: ${JSON.stringify(server.url)}, timeout: '2s', headers: { host: ${JSON.stringify(host)} } });`,
              'process.stdout.write(JSON.stringify(await probeHttp(target, deadline(2000))));',
            ].join('\n');
            const { stdout } = await runFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
              env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') },
              timeout: 20_000,
            });
            return JSON.parse(stdout) as ProbeResult;
          };
          const [named, other] = await Promise.all([probeAs('localhost'), probeAs('other.test')]);
          assert.equal(named.ok, true, named.error);
          assert.equal(other.error, 'certificate not trusted: ERR_TLS_CERT_ALTNAME_INVALID');
        }, longLived);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    test('an untrusted certificate fails unless insecure', async () => {
      await withServer({ body: 'ok' }, async (server) => {
        const result = await probeHttp(httpTarget(server.url), deadline(2000));
        assert.equal(result.error, 'certificate not trusted: DEPTH_ZERO_SELF_SIGNED_CERT');
        assert.equal(result.details?.certDaysLeft, 364, 'the expiry is still reported');
      }, longLived);
    });
  });
});

describe('http checks', () => {
  const statusCases: [number, number[] | undefined, string | undefined][] = [
    [204, undefined, undefined],
    [301, undefined, 'status 301, expected 2xx'],
    [503, [200], 'status 503, expected 200'],
    [503, [200, 204], 'status 503, expected 200 or 204'],
    [503, [200, 204, 301], 'status 503, expected one of 200, 204, 301'],
    [301, [301], undefined],
  ];
  for (const [status, expected, error] of statusCases) {
    test(`status ${status} against ${expected?.join(',') ?? 'any 2xx'}`, () => assert.equal(checkStatus(status, expected), error));
  }

  test('a set-cookie value is never quoted in a reason, and long values are cut', () => {
    assert.equal(checkHeaders({ 'set-cookie': 'session=secret' }, { 'Set-Cookie': '^theme=' }), 'header set-cookie, expected /^theme=/');
    assert.equal(checkHeaders({ 'x-trace': ['a', 'b'] }, { 'x-trace': '^a, b$' }), undefined);
    const long = checkJson({ bodyText: JSON.stringify({ list: 'x'.repeat(500) }), bytesRead: 510, truncated: false }, { list: '' });
    assert.equal(long, `json list is "${'x'.repeat(78)}…, expected ""`);
  });

  test('json paths: a key never matches an array index, nor an index a key', () => {
    const facts = (value: unknown) => ({ bodyText: JSON.stringify(value), bytesRead: 1, truncated: false });
    assert.equal(checkJson(facts(['first']), { '[0]': 'first' }), undefined);
    assert.equal(checkJson(facts({ 0: 'zero' }), { '[0]': 'zero' }), 'json [0] missing, expected "zero"');
    assert.equal(checkJson(facts(['zero']), { 0: 'zero' }), 'json 0 missing, expected "zero"');
    assert.equal(checkJson(facts({ a: { 'b-c': [[1, 2]] } }), { 'a.b-c[0][1]': 2 }), undefined);
  });

  test('a body check on a truncated body says how much was read', () => {
    const facts = { bodyText: 'abc', bytesRead: 3, truncated: true };
    assert.equal(checkBody(facts, { bodyContains: 'z' }), 'body does not contain "z" (in the first 3 bytes)');
    assert.equal(checkBody(facts, { bodyContains: 'b' }), undefined);
  });
});
