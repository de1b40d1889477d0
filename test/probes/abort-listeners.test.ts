import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createServer as createTlsServer } from 'node:tls';
import type { DnsTarget, HttpTarget, TcpTarget, TlsTarget } from '../../src/config/schema.js';
import { probeDns } from '../../src/probes/dns.js';
import { probeHttp } from '../../src/probes/http.js';
import { probeTcp } from '../../src/probes/tcp.js';
import { probeTls } from '../../src/probes/tls.js';
import { deadlineReason, type ProbeResult } from '../../src/probes/types.js';
import { selfSignedCertificate } from '../fakes/certs.js';
import { configuredTarget, startDnsServer, startHttpTarget, type FakeDnsServer, type HttpTargetServer } from '../fakes/targets.js';

/**
 * The scheduler hands a run's signal on to the job's next run when the run left no listener on
 * it, so a probe that forgets one costs a fresh signal per run and, worse, would hear a later
 * run's deadline. Every probe type, passing or failing, must take its listeners off.
 */
async function listenersLeftBy(probe: (signal: AbortSignal) => Promise<ProbeResult>, timeoutMs = 1000): Promise<{ result: ProbeResult; left: number }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(deadlineReason(timeoutMs)), timeoutMs);
  try {
    const result = await probe(controller.signal);
    return { result, left: getEventListeners(controller.signal, 'abort').length };
  } finally {
    clearTimeout(timer);
  }
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('probes leave no abort listener on the signal they were given', () => {
  let tcp: Server;
  let tcpPort: number;
  let closedPort: number;
  let http: HttpTargetServer;
  let dns: FakeDnsServer;
  let tls: Server;
  let tlsPort: number;
  before(async () => {
    tcp = createServer((socket) => socket.destroy());
    tcpPort = await listen(tcp);
    const probeOnly = createServer();
    closedPort = await listen(probeOnly);
    await new Promise((resolve) => probeOnly.close(resolve));
    http = await startHttpTarget({ status: 200, body: 'hello world' });
    dns = await startDnsServer({ 'db.internal': { A: ['10.0.0.5'] } });
    tls = createTlsServer(await selfSignedCertificate(365), (socket) => socket.end());
    tlsPort = await listen(tls);
  });
  after(async () => {
    tcp.close();
    tls.close();
    await http.close();
    dns.close();
  });

  test('tcp, when it connects and when it is refused', async () => {
    for (const port of [tcpPort, closedPort]) {
      const target = configuredTarget<TcpTarget>({ type: 'tcp', host: '127.0.0.1', port, timeout: '1s' });
      const { result, left } = await listenersLeftBy((signal) => probeTcp(target, signal));
      assert.equal(result.ok, port === tcpPort, result.error);
      assert.equal(left, 0, `port ${port}`);
    }
    const talking = configuredTarget<TcpTarget>({ type: 'tcp', host: '127.0.0.1', port: tcpPort, timeout: '1s', send: 'HI\r\n', expect: { replyRegex: 'OK' } });
    const { result, left } = await listenersLeftBy((signal) => probeTcp(talking, signal));
    assert.equal(result.ok, false, 'the server closes without a reply');
    assert.equal(left, 0, 'after a conversation');
  });

  test('http, with a body read to its end and with a refused connection', async () => {
    for (const url of [`${http.url}/ok`, `http://127.0.0.1:${closedPort}/`]) {
      const target = configuredTarget<HttpTarget>({ type: 'http', url, timeout: '1s', expect: { bodyContains: 'hello' } });
      const { result, left } = await listenersLeftBy((signal) => probeHttp(target, signal));
      assert.equal(result.ok, url.startsWith(http.url), result.error);
      assert.equal(left, 0, url);
    }
  });

  test('dns, answered and unanswered', async () => {
    for (const query of ['db.internal', 'missing.internal']) {
      const target = configuredTarget<DnsTarget>({ type: 'dns', query, server: dns.address, timeout: '1s' });
      const { result, left } = await listenersLeftBy((signal) => probeDns(target, signal));
      assert.equal(result.ok, query === 'db.internal', result.error);
      assert.equal(left, 0, query);
    }
  });

  test('tls, with a certificate and with a refused connection', async () => {
    for (const port of [tlsPort, closedPort]) {
      const target = configuredTarget<TlsTarget>({ type: 'tls', host: '127.0.0.1', port, timeout: '1s', insecure: true });
      const { result, left } = await listenersLeftBy((signal) => probeTls(target, signal));
      assert.equal(result.ok, port === tlsPort, result.error);
      assert.equal(left, 0, `port ${port}`);
    }
  });
});
