/** The probe registry: what it adds around every probe type (the latency budget). */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { Target } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { createProbes, type ProbeRegistry } from '../../src/probes/index.js';
import { checkLatency } from '../../src/probes/types.js';
import { configuredTarget, deadline, startHttpTarget, type HttpTargetServer } from '../fakes/targets.js';

describe('maxLatency, for every probe type', () => {
  let registry: ProbeRegistry;
  let http: HttpTargetServer;
  let slowBanner: ReturnType<typeof createServer>;
  let bannerPort: number;
  before(async () => {
    registry = createProbes({ icmp: { fping: null, ping: null }, logger: createLogger({ destination: new PassThrough() }) });
    http = await startHttpTarget({ body: 'ok', delayMs: 120 });
    slowBanner = createServer((socket) => {
      const timer = setTimeout(() => socket.end('220 ready\r\n'), 120);
      socket.once('close', () => clearTimeout(timer));
    }).listen(0, '127.0.0.1');
    await once(slowBanner, 'listening');
    bannerPort = (slowBanner.address() as AddressInfo).port;
  });
  after(async () => {
    registry.close();
    slowBanner.close();
    await http.close();
  });

  const run = (target: Target) => registry.run(target, deadline(2000));

  test('a probe that passes but takes longer than the budget fails with both numbers', async () => {
    const results = await Promise.all([
      run(configuredTarget({ type: 'http', url: http.url, timeout: '2s', expect: { maxLatency: '50ms' } })),
      run(configuredTarget({ type: 'tcp', host: '127.0.0.1', port: bannerPort, timeout: '2s', expect: { replyRegex: '^220', maxLatency: '50ms' } })),
    ]);
    for (const result of results) {
      assert.equal(result.ok, false);
      assert.match(result.error ?? '', /^latency \d+ms over budget 50ms$/);
      assert.ok(Number(/latency (\d+)ms/.exec(result.error!)![1]) >= 120, result.error);
    }
  });

  test('within the budget it passes, and a failure keeps its own reason', async () => {
    const within = await run(configuredTarget({ type: 'tcp', host: '127.0.0.1', port: bannerPort, timeout: '2s', expect: { replyRegex: '^220', maxLatency: '2s' } }));
    assert.equal(within.ok, true, within.error);
    const refused = await run(configuredTarget({ type: 'tcp', host: '127.0.0.1', port: 1, timeout: '2s', expect: { maxLatency: '1ms' } }));
    assert.match(refused.error ?? '', /ECONNREFUSED/);
  });

  test('the budget is inclusive and optional', () => {
    assert.equal(checkLatency(800, 800), undefined);
    assert.equal(checkLatency(950.4, 800), 'latency 950ms over budget 800ms');
    assert.equal(checkLatency(10_000, undefined), undefined);
  });
});
