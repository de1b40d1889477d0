import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
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

  describe('a conversation: send, then a reply that must match', () => {
    const talkTarget = (port: number, extra: Record<string, unknown>) =>
      configuredTarget<TcpTarget>({ type: 'tcp', host: '127.0.0.1', port, timeout: '1s', ...extra });

    /** A server on 127.0.0.1 that runs `talk` on each connection and records what it received. */
    async function withServer(talk: (socket: Socket) => void, body: (port: number, received: () => string, closed: Promise<void>) => Promise<void>): Promise<void> {
      let received = '';
      let onClosed!: () => void;
      const closed = new Promise<void>((resolve) => { onClosed = resolve; });
      const server = createServer((socket) => {
        socket.on('data', (chunk) => { received += chunk.toString('latin1'); });
        socket.on('error', () => {});
        socket.once('close', onClosed);
        talk(socket);
      }).listen(0, '127.0.0.1');
      await once(server, 'listening');
      try {
        await body((server.address() as AddressInfo).port, () => received, closed);
      } finally {
        server.close();
      }
    }

    test('a banner that matches passes, shows its first line and times the wait for it', async () => {
      await withServer((socket) => socket.write('SSH-2.0-OpenSSH_9.6\r\nmore\r\n'), async (port, _received, closed) => {
        const result = await probeTcp(talkTarget(port, { expect: { replyRegex: '^SSH-2\\.0-' } }), deadline(1000));
        assert.equal(result.ok, true, result.error);
        assert.deepEqual(result.details, { reply: 'SSH-2.0-OpenSSH_9.6' });
        assert.equal(typeof result.phases?.connect, 'number');
        assert.equal(typeof result.phases?.firstByte, 'number');
        await closed; // the probe closed its side: the test would time out otherwise
      });
    });

    test('send is written once connected, and a reply split across packets still matches', async () => {
      const talk = (socket: Socket): void => {
        socket.once('data', () => {
          socket.write('+PO');
          setTimeout(() => socket.write(Buffer.from([0x4e, 0x47, 0xc3])), 5);
          setTimeout(() => socket.write(Buffer.from([0xa9, 0x0d, 0x0a])), 10);
        });
      };
      await withServer(talk, async (port, received) => {
        const result = await probeTcp(talkTarget(port, { send: 'PING\r\n', expect: { replyRegex: '^\\+PONGé' } }), deadline(1000));
        assert.equal(result.ok, true, result.error);
        assert.equal(received(), 'PING\r\n');
        assert.deepEqual(result.details, { reply: '+PONGé' });
      });
    });

    test('send without expect passes once the text is written', async () => {
      await withServer(() => {}, async (port, received, closed) => {
        const result = await probeTcp(talkTarget(port, { send: 'QUIT\r\n' }), deadline(1000));
        assert.equal(result.ok, true, result.error);
        await closed;
        assert.equal(received(), 'QUIT\r\n');
      });
    });

    test('a reply that does not match fails with what was said, when the server closes', async () => {
      await withServer((socket) => socket.end('220 mail ready\r\n'), async (port) => {
        const result = await probeTcp(talkTarget(port, { expect: { replyRegex: '^SSH' } }), deadline(1000));
        assert.equal(result.error, 'connection closed; reply does not match /^SSH/: "220 mail ready\\r\\n"');
        assert.deepEqual(result.details, { reply: '220 mail ready' });
      });
      await withServer((socket) => socket.end(), async (port) => {
        const result = await probeTcp(talkTarget(port, { expect: { replyRegex: '^SSH' } }), deadline(1000));
        assert.equal(result.error, 'connection closed with no reply, expected /^SSH/');
      });
    });

    test('reads at most maxBytes while looking for the match', async () => {
      await withServer((socket) => socket.write('x'.repeat(100)), async (port) => {
        const result = await probeTcp(talkTarget(port, { expect: { replyRegex: 'y', maxBytes: 10 } }), deadline(1000));
        assert.equal(result.error, 'reply does not match /y/ in its first 10 bytes: "xxxxxxxxxx"');
      });
    });

    test('a server that never answers fails at the deadline, waiting for the reply', async () => {
      await withServer(() => {}, async (port, _received, closed) => {
        const result = await probeTcp(talkTarget(port, { timeout: '200ms', send: 'HELLO\r\n', expect: { replyRegex: 'OK' } }), deadline(200));
        assert.equal(result.error, 'timeout after 200ms (waiting for reply)');
        assert.equal(typeof result.phases?.connect, 'number');
        await closed;
      });
    });
  });
});
