import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createServer, type Server } from 'node:tls';
import type { TlsTarget } from '../../src/config/schema.js';
import { checkCertificateExpiry, probeTls } from '../../src/probes/tls.js';
import { selfSignedCertificate, type TestCertificate } from '../fakes/certs.js';
import { configuredTarget, deadline } from '../fakes/targets.js';

const DAY = 86_400_000;

const tlsTarget = (port: number, extra: Record<string, unknown> = {}) =>
  configuredTarget<TlsTarget>({ type: 'tls', host: '127.0.0.1', port, timeout: '1s', ...extra });

async function listen<T extends Server | TcpServer>(server: T): Promise<{ server: T; port: number }> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

describe('tls probe', () => {
  let longLived: TestCertificate;
  let expiringSoon: TestCertificate;
  before(async () => {
    [longLived, expiringSoon] = await Promise.all([selfSignedCertificate(365), selfSignedCertificate(3)]);
  });

  const withTlsServer = async (certificate: TestCertificate, run: (port: number) => Promise<void>) => {
    const { server, port } = await listen(createServer(certificate, (socket) => socket.end()));
    try {
      await run(port);
    } finally {
      server.close();
    }
  };

  test('a long-lived certificate passes and is described', async () => {
    await withTlsServer(longLived, async (port) => {
      const result = await probeTls(tlsTarget(port, { insecure: true }), deadline(1000));
      assert.equal(result.ok, true, result.error);
      assert.equal(result.details?.daysLeft, 364);
      assert.equal(result.details?.subject, 'CN=localhost');
      assert.equal(result.details?.issuer, 'CN=localhost');
      const validTo = Date.parse(String(result.details?.validTo));
      assert.ok(Math.abs(validTo - (Date.now() + 365 * DAY)) < 120_000, `validTo ${result.details?.validTo}`);
      assert.equal(typeof result.phases?.connect, 'number');
      assert.equal(typeof result.phases?.tls, 'number');
    });
  });

  test('a certificate expiring within certValidFor fails with the days left', async () => {
    await withTlsServer(expiringSoon, async (port) => {
      const result = await probeTls(tlsTarget(port, { insecure: true }), deadline(1000));
      assert.equal(result.ok, false);
      // Made for 3 days a moment ago: 2 whole days and some hours are left.
      assert.equal(result.error, 'certificate expires in 2 days (< 14d)');
      assert.equal(result.details?.daysLeft, 2);
    });
  });

  test('the same certificate passes when certValidFor is shorter than its life', async () => {
    await withTlsServer(expiringSoon, async (port) => {
      const result = await probeTls(tlsTarget(port, { insecure: true, expect: { certValidFor: '1d' } }), deadline(1000));
      assert.equal(result.ok, true, result.error);
    });
  });

  test('a chain that does not verify fails unless insecure, and still reports the expiry', async () => {
    await withTlsServer(longLived, async (port) => {
      const result = await probeTls(tlsTarget(port), deadline(1000));
      assert.equal(result.ok, false);
      assert.equal(result.error, 'certificate not trusted: DEPTH_ZERO_SELF_SIGNED_CERT');
      assert.equal(result.details?.daysLeft, 364);
    });
  });

  test('a server that never answers the handshake fails at the deadline in the handshake phase', async () => {
    const held: Socket[] = [];
    const { server, port } = await listen(createTcpServer((socket) => held.push(socket)));
    try {
      const result = await probeTls(tlsTarget(port, { timeout: '200ms', insecure: true }), deadline(200));
      assert.equal(result.ok, false);
      assert.equal(result.error, 'timeout after 200ms (tls handshake)');
      assert.ok(result.latencyMs >= 190 && result.latencyMs < 700, `took ${result.latencyMs}ms`);
      assert.equal(typeof result.phases?.connect, 'number');
    } finally {
      for (const socket of held) socket.destroy();
      server.close();
    }
  });

  test('a refused port fails with the connect error', async () => {
    const { server, port } = await listen(createTcpServer());
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const result = await probeTls(tlsTarget(port), deadline(1000));
    assert.equal(result.error, `connect ECONNREFUSED 127.0.0.1:${port}`);
  });
});

describe('certificate expiry check', () => {
  const now = Date.UTC(2026, 0, 1);
  const cases: [string, number, number, string | undefined][] = [
    ['valid well past the minimum', now + 90 * DAY, 14 * DAY, undefined],
    ['exactly at the minimum', now + 14 * DAY, 14 * DAY, undefined],
    ['3.5 days left', now + 3.5 * DAY, 14 * DAY, 'certificate expires in 3 days (< 14d)'],
    ['1 day left', now + DAY + 1000, 14 * DAY, 'certificate expires in 1 day (< 14d)'],
    ['hours left', now + 5 * 3_600_000 + 20 * 60_000, 14 * DAY, 'certificate expires in 5h20m (< 14d)'],
    ['expired', now - 2 * DAY - 1000, 14 * DAY, 'certificate expired 2 days ago'],
    ['expired, no minimum', now - 60_000, 0, 'certificate expired 1m ago'],
    ['unreadable date', Number.NaN, DAY, 'certificate has no readable expiry date'],
  ];
  for (const [name, validTo, minimum, expected] of cases) {
    test(name, () => assert.equal(checkCertificateExpiry(validTo, now, minimum), expected));
  }
});
