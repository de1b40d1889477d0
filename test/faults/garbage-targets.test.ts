/**
 * Scenario 5b: targets that answer with too much. An HTTP body of 1 GiB and one that never
 * ends are read only up to maxBodyBytes, so probes end quickly and the bot's memory stays flat;
 * a DNS answer of 500 records gives a result (and an alert) of bounded size.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startDnsServer, startHttpTarget } from '../fakes/targets.js';
import { startWebhookReceiver } from '../fakes/webhook-receiver.js';
import { baseConfig, killAllBots, runCli, sleep, startBot, until, workspace } from './harness.js';

const GIB = 1024 ** 3;
const MAX_BODY_BYTES = 1024 * 1024;
const TIMEOUT_MS = 3_000;
const RECORDS = 500;

const space = workspace('targets');
after(async () => {
  await killAllBots();
  space.remove();
});

test('a 1 GiB body, an endless body and 500 DNS records give bounded results and bounded memory', { timeout: 60_000 }, async (t) => {
  const oneGib = await startHttpTarget({ headers: { 'content-length': String(GIB) }, body: 'probebot-marker ', then: 'endless' });
  const endless = await startHttpTarget({ body: 'probebot-marker ', then: 'endless' });
  const addresses = Array.from({ length: RECORDS }, (_, index) => `127.0.${Math.floor(index / 250)}.${(index % 250) + 1}`);
  const dns = await startDnsServer({ 'many.example.test': { A: addresses } });
  const webhook = await startWebhookReceiver();
  t.after(() => Promise.all([oneGib.close(), endless.close(), dns.close(), webhook.close()]));

  const body = { maxBodyBytes: MAX_BODY_BYTES, expect: { bodyContains: 'probebot-marker' } };
  const configPath = space.writeConfig('rules.yaml', {
    ...baseConfig(join(space.dir, 'state')),
    notifiers: { log: { type: 'log' }, hook: { type: 'webhook', url: webhook.url } },
    delivery: { groupWait: '0s' },
    defaults: { interval: '200ms', retryInterval: '200ms', timeout: `${TIMEOUT_MS}ms`, failureThreshold: 1, successThreshold: 1, notify: ['log', 'hook'] },
    targets: [
      { name: 'one-gib', type: 'http', url: `${oneGib.url}/download`, ...body },
      { name: 'endless', type: 'http', url: `${endless.url}/stream`, ...body },
      { name: 'many-records', type: 'dns', query: 'many.example.test', server: dns.address },
      // Fails on purpose: its DOWN alert carries the 500-record answer.
      { name: 'many-records-nope', type: 'dns', query: 'many.example.test', server: dns.address, expect: { contains: 'nope' } },
    ],
  });

  // The result of one probe, as `probebot probe --json` shows it.
  const probed = await Promise.all(['one-gib', 'endless', 'many-records'].map(async (name) => {
    const run = await runCli(['probe', name, '-c', configPath, '--json']);
    assert.equal(run.code, 0, `${name}: ${run.stdout} ${run.stderr}`);
    return JSON.parse(run.stdout) as { ok: boolean; latencyMs: number; details: Record<string, unknown> };
  }));
  for (const result of probed.slice(0, 2)) {
    assert.deepEqual([result.details.bytesRead, result.details.truncated], [MAX_BODY_BYTES, true], 'read up to maxBodyBytes, then stopped');
    assert.ok(result.latencyMs < TIMEOUT_MS / 2, `ended by the byte bound, not the deadline: ${result.latencyMs}ms`);
  }
  const answers = probed[2]!.details;
  assert.equal(answers.answerCount, RECORDS);
  assert.equal((answers.answers as string[]).length, 20, 'only the first 20 answers are kept');

  const bot = await startBot({ configPath });
  const probes = (metrics: Awaited<ReturnType<typeof bot.metrics>>) => metrics.find('probebot_probe_duration_seconds_count', { type: 'http', phase: 'total' }) ?? 0;
  // Warm up (first probes, JIT, buffers), then measure memory over many more probes.
  const warm = await until(async () => {
    const metrics = await bot.metrics();
    return probes(metrics) >= 10 ? metrics : undefined;
  }, 'ten HTTP probes');
  const rssBefore = bot.rssKb();
  await sleep(3_000);
  const metrics = await bot.metrics();
  const rssAfter = bot.rssKb();
  const bodies = probes(metrics) - probes(warm);
  t.diagnostic(`RSS ${Math.round(rssBefore / 1024)} MB -> ${Math.round(rssAfter / 1024)} MB over ${bodies} more HTTP probes of ${MAX_BODY_BYTES / 1024} KiB each`);
  assert.ok(bodies >= 10, `HTTP probes went on: ${bodies}`);
  assert.ok(rssAfter - rssBefore < 100 * 1024, `RSS grew by ${Math.round((rssAfter - rssBefore) / 1024)} MB`);
  for (const name of ['one-gib', 'endless']) {
    assert.equal(metrics.value('probebot_probe_success', { target: name }), 1, `${name} passes on what was read`);
    assert.ok(metrics.value('probebot_probe_last_duration_seconds', { target: name }) < TIMEOUT_MS / 2000, `${name} ended long before its deadline`);
  }
  // Each probe's connection is closed once the bound is reached; none pile up at the servers.
  assert.ok((await oneGib.openConnections()) + (await endless.openConnections()) <= 4, 'no connections left streaming');

  const alert = await until(() => webhook.requests.find((request) => (request.json as { target?: string }).target === 'many-records-nope'), 'the DOWN of many-records-nope');
  const { result } = alert.json as { result: { error: string; details: { answers: string[]; answerCount: number } } };
  assert.equal(result.details.answerCount, RECORDS);
  assert.equal(result.details.answers.length, 20);
  assert.match(result.error, /^no answer contains "nope" \(got 127\.0\.0\.1, 127\.0\.0\.2, 127\.0\.0\.3, 127\.0\.0\.4, 127\.0\.0\.5, …\)$/);
  assert.ok(alert.body.length < 4_096, `the alert is ${alert.body.length} bytes`);
  assert.deepEqual(await bot.stop(), { code: 0, signal: null });
  await until(async () => (await oneGib.openConnections()) + (await endless.openConnections()) === 0, 'every probe connection closed after the stop', 3_000);
});
