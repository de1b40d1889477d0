import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { TcpTarget } from '../../src/config/schema.js';
import { probeTcp } from '../../src/probes/tcp.js';
import { configuredTarget, deadline, startBlackholedPort, type BlackholedPort } from '../fakes/targets.js';

const tcpTarget = (host: string, port: number, timeout = '1s') => configuredTarget<TcpTarget>({ type: 'tcp', host, port, timeout });

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Sockets the kernel still has trying to connect to the port (SYN-SENT). */
function synSentTo(port: number): number {
  const out = execFileSync('ss', ['-Htn', 'state', 'syn-sent', `dport = :${port}`], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.trim() !== '').length;
}

describe('tcp probe', () => {
  test('an open port succeeds and reports the connect time', async () => {
    const server = createServer((socket) => socket.destroy()).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const before = Date.now();
      const result = await probeTcp(tcpTarget('127.0.0.1', port), deadline(1000));
      assert.equal(result.ok, true, result.error);
      assert.equal(result.error, undefined);
      assert.ok(result.at >= before && result.at <= Date.now());
      assert.equal(typeof result.phases?.connect, 'number');
      assert.equal(result.phases?.dns, undefined, 'no lookup for an IP literal');
      assert.ok(result.latencyMs >= result.phases!.connect! && result.latencyMs < 1000);
    } finally {
      server.close();
    }
  });

  test('a host name is resolved first and the lookup is timed', async () => {
    const server = createServer((socket) => socket.destroy()).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const result = await probeTcp(tcpTarget('localhost', port), deadline(1000));
      assert.equal(result.ok, true, result.error);
      assert.equal(typeof result.phases?.dns, 'number');
      assert.equal(typeof result.phases?.connect, 'number');
    } finally {
      server.close();
    }
  });

  test('a refused port fails at once with ECONNREFUSED and the address', async () => {
    const port = await closedPort();
    const result = await probeTcp(tcpTarget('127.0.0.1', port), deadline(1000));
    assert.equal(result.ok, false);
    assert.equal(result.error, `connect ECONNREFUSED 127.0.0.1:${port}`);
    assert.ok(result.latencyMs < 500, `took ${result.latencyMs}ms`);
  });

  describe('against a port that drops SYNs', () => {
    let blackhole: BlackholedPort | undefined;
    let unavailable = '';
    before(async () => {
      try {
        blackhole = await startBlackholedPort();
      } catch (error) {
        unavailable = `no blackholed port on this system: ${(error as Error).message}`;
      }
    });
    after(() => blackhole?.close());

    test('fails at the deadline, not after the kernel gives up, and leaves no socket behind', async (t) => {
      if (!blackhole) return t.skip(unavailable);
      const { port } = blackhole;
      const waitingBefore = synSentTo(port);
      let waitingDuring = 0;
      setTimeout(() => { waitingDuring = synSentTo(port); }, 150);
      const started = performance.now();
      const result = await probeTcp(tcpTarget(blackhole.host, port, '300ms'), deadline(300));
      const took = performance.now() - started;
      assert.equal(result.ok, false);
      assert.equal(result.error, 'timeout after 300ms (connecting)');
      assert.ok(took >= 290 && took < 800, `took ${took}ms`);
      assert.equal(waitingDuring, waitingBefore + 1, 'the probe was still sending SYNs mid-way');
      assert.equal(synSentTo(port), waitingBefore, 'the probe left a socket trying to connect');
    });

    test('a shutdown abort says "aborted", not timeout', async (t) => {
      if (!blackhole) return t.skip(unavailable);
      const controller = new AbortController();
      const pending = probeTcp(tcpTarget(blackhole.host, blackhole.port, '5s'), controller.signal);
      setTimeout(() => controller.abort(new Error('shutting down')), 50);
      const result = await pending;
      assert.equal(result.ok, false);
      assert.equal(result.error, 'aborted (connecting)');
      assert.ok(result.latencyMs < 1000);
    });
  });

  test('an already aborted signal opens no connection', async () => {
    let accepted = 0;
    const server = createServer((socket) => { accepted++; socket.destroy(); }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const controller = new AbortController();
      controller.abort(new Error('stopping'));
      const result = await probeTcp(tcpTarget('127.0.0.1', port), controller.signal);
      assert.equal(result.error, 'aborted (connecting)');
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(accepted, 0);
    } finally {
      server.close();
    }
  });
});
