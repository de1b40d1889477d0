/**
 * Scenario 4, alert latency. Targets go DOWN because their listener is closed (and UP when it is
 * opened again). Latency is measured from the moment the deciding probe result is recorded to the
 * moment the webhook receiver (another process) holds the signed request: the first is the
 * event's `at` in the webhook body (the state machine's `now` when Monitor.record took the
 * result), the second the receiver's clock on arrival; both are the same machine's wall clock in
 * whole ms, so each figure is good to about ±1 ms.
 *   one target: repeated DOWN/UP transitions of a single target, webhook with groupWait 0.
 *   storm: 1,000 targets DOWN at once (listeners closed together; 1 s interval, failure
 *   threshold 1), to the webhook and to the fake Slack (1 message/s per channel, 429 beyond),
 *   both with groupWait 2 s. Every event must reach the webhook within 5 s; Slack must get at most
 *   5 messages that together name all 1,000 targets.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReceiversApi } from '../servers/receivers.js';
import { BotProcess } from '../harness/bot.js';
import { writeConfig, type ConfigObject } from '../harness/config.js';
import { scratchDir, type BenchContext } from '../harness/context.js';
import { TcpFleet } from '../harness/fleet.js';
import { Helper } from '../harness/helper.js';
import { startAll } from '../harness/start-all.js';
import { atMost, below, formatValue } from '../harness/rows.js';
import type { Scenario } from '../harness/scenario.js';
import { formatProfile, newestProfile, summariseProfile } from '../harness/profile.js';
import { median, percentile, summarise } from '../harness/stats.js';

const STORM_GROUP_WAIT = '2s';
const SLACK_CHANNEL = 'C0STORM';
const WAIT_MS = 20_000;

export const alerts: Scenario = {
  name: 'alerts',
  title: 'alert latency: one transition to the signed webhook; a 1,000-target storm to webhook and Slack',
  async run(context, report) {
    const transitions = context.quick ? 4 : 100;
    const runs = context.quick ? 1 : Math.max(1, context.repeat);
    const warmup = 2;
    const stormSize = context.quick ? 100 : 1_000;
    const [fleet, receivers] = await startAll(TcpFleet.start(1 + stormSize), Helper.start<ReceiversApi>('receivers.ts', 'receivers'));
    try {
      const secret = `whsec_${randomBytes(24).toString('base64')}`;
      const endpoints = await receivers.call('start', { webhookSecret: secret, slackMessagesPerSecond: 1 });
      const setup = { context, fleet, receivers, endpoints, secret };

      const singles: Array<Awaited<ReturnType<typeof oneTarget>>> = [];
      for (let run = 0; run < runs; run++) {
        context.log(`alerts: ${transitions} transitions of one target, run ${run + 1}`);
        singles.push(await oneTarget(setup, warmup, transitions));
      }
      report.detail('oneTarget', singles);
      report.row({
        figure: 'one target: result recorded → webhook has it, p99',
        unit: 'ms',
        runs: singles.map((single) => single.p99),
        bar: below(20, 'ms'),
        note: `p50 ${formatValue(median(singles.map((single) => single.p50)))} ms, max ${formatValue(Math.max(...singles.map((single) => single.max)))} ms; ${transitions} transitions per run after ${warmup} unmeasured (first alerts after start: ${singles.flatMap((single) => single.warmup).map((ms) => `${ms}`).join(', ')} ms); ${singles.reduce((sum, single) => sum + single.unverified, 0)} unverified signatures`,
      });
      if (report.failed.length > 0 && !context.quick) {
        const dir = join(context.resultsDir, 'profiles', 'alerts');
        await oneTarget(setup, warmup, transitions, dir);
        const file = await newestProfile(dir);
        if (file) report.lines(formatProfile(await summariseProfile(file, context.repoRoot)));
      }

      context.log(`alerts: a storm of ${stormSize} DOWNs`);
      const storm = await stormOf(setup, stormSize);
      report.detail('storm', storm);
      report.row({
        figure: `storm of ${stormSize}: slowest DOWN → webhook`,
        unit: 'ms',
        runs: [storm.webhook.max],
        spread: `p50 ${formatValue(storm.webhook.p50)}, p99 ${formatValue(storm.webhook.p99)}`,
        bar: atMost(5000, 'ms'),
        note: `${storm.webhookTargets} of ${stormSize} targets in ${storm.webhookRequests} requests; ${storm.unverified} unverified; last one ${formatValue(storm.lastAfterCloseMs)} ms after the listeners closed`,
      });
      report.row({ figure: `storm of ${stormSize}: DOWNs missing at the webhook`, unit: 'targets', runs: [stormSize - storm.webhookTargets], bar: atMost(0, '') });
      report.row({ figure: `storm of ${stormSize}: Slack messages`, unit: 'messages', runs: [storm.slackMessages], bar: atMost(5, ''), note: `${storm.slackPostCalls} chat.postMessage calls (${storm.slackPostCalls - storm.slackMessages} answered 429)` });
      report.row({
        figure: `storm of ${stormSize}: targets not named in Slack`,
        unit: 'targets',
        runs: [stormSize - storm.slackNamed],
        bar: atMost(0, ''),
        note: storm.slackNamed < stormSize ? `named ${storm.slackNamed}; e.g. missing ${storm.slackMissingExamples.join(', ')}` : `all ${stormSize} named`,
      });
      report.note(`groupWait ${STORM_GROUP_WAIT} on the storm's webhook and Slack notifiers (the default delivery.groupWait of 10 s would hold a storm's tail back 10 s by design)`);
    } finally {
      await receivers.stop();
      await fleet.stop();
    }
  },
};

interface Setup {
  context: BenchContext;
  fleet: TcpFleet;
  receivers: Helper<ReceiversApi>;
  endpoints: { webhookUrl: string; slackApiUrl: string; slackToken: string };
  secret: string;
}

async function startBot(setup: Setup, label: string, config: { targets: ConfigObject[]; notifiers: Record<string, ConfigObject>; slack?: ConfigObject }, cpuProfileDir?: string): Promise<BotProcess> {
  const dir = await scratchDir(setup.context, label);
  const configPath = await writeConfig(dir, { stateDir: join(dir, 'state'), maxConcurrentProbes: 2_048, ...config });
  const options = { cliPath: setup.context.cliPath, configPath, logPath: join(dir, 'bot.log'), cwd: dir };
  return BotProcess.start(cpuProfileDir ? { ...options, cpuProfileDir } : options);
}

/** `warmup` transitions first (the first deliveries after start are slower: JIT, first connection), then `transitions` measured. */
async function oneTarget(setup: Setup, warmup: number, transitions: number, cpuProfileDir?: string) {
  const { fleet, receivers } = setup;
  await receivers.call('reset', {} as never);
  const bot = await startBot(setup, 'alerts-one', {
    targets: [{
      name: 'alert-one', type: 'tcp', host: fleet.host(0), port: fleet.port, interval: '100ms', timeout: '1s',
      failureThreshold: 1, successThreshold: 1, notify: ['hook'],
      // Toggling every few probes must stay a state change, not become flapping.
      flap: { window: 21, high: 100, low: 100 },
    }],
    notifiers: { hook: { type: 'webhook', url: setup.endpoints.webhookUrl, secret: setup.secret, groupWait: '0s' } },
  }, cpuProfileDir);
  try {
    await sleep(500); // probed a few times: UP (silently)
    for (let i = 0; i < warmup + transitions; i++) {
      if (i % 2 === 0) await fleet.close([0]);
      else await fleet.reopen([0]);
      await until(async () => (await receivers.call('webhookEvents', {} as never)).events.length > i, 5_000, `transition ${i + 1} never reached the webhook`);
      await sleep(150); // a probe or two in the new state before the next change
    }
  } finally {
    await bot.stop();
    await fleet.reopen([0]);
  }
  const { events } = await receivers.call('webhookEvents', {} as never);
  const all = events.map((event) => event.receivedAt - event.eventAt);
  const latencies = all.slice(warmup);
  return { ...summarise(latencies), warmup: all.slice(0, warmup), unverified: events.filter((event) => event.verified !== true).length, latencies };
}

async function stormOf(setup: Setup, size: number) {
  const { fleet, receivers } = setup;
  const indexes = Array.from({ length: size }, (_, i) => i + 1);
  const name = (index: number) => `storm-${String(index).padStart(4, '0')}`;
  const bot = await startBot(setup, 'alerts-storm', {
    targets: indexes.map((index) => ({ name: name(index), type: 'tcp', host: fleet.host(index), port: fleet.port, interval: '1s', timeout: '1s', failureThreshold: 1, notify: ['hook', 'ops'] })),
    notifiers: {
      hook: { type: 'webhook', url: setup.endpoints.webhookUrl, secret: setup.secret, groupWait: STORM_GROUP_WAIT },
      ops: { type: 'slack', channel: SLACK_CHANNEL, groupWait: STORM_GROUP_WAIT },
    },
    slack: { botToken: setup.endpoints.slackToken, apiUrl: setup.endpoints.slackApiUrl },
  });
  try {
    await until(async () => (await healthz(bot.port)).up === size, 10_000, `not all ${size} storm targets came UP`);
    await receivers.call('reset', {} as never);
    const closedAt = Date.now();
    await fleet.close(indexes);
    const names = indexes.map(name);
    let webhookEvents: Awaited<ReturnType<ReceiversApi['webhookEvents']>> = { requests: 0, events: [] };
    let slack: Awaited<ReturnType<ReceiversApi['slackMessages']>> = { postCalls: 0, messages: [] };
    let named: string[] = [];
    const done = async () => {
      webhookEvents = await receivers.call('webhookEvents', {} as never);
      slack = await receivers.call('slackMessages', {} as never);
      const text = slack.messages.map((message) => message.text).join('\n');
      named = names.filter((target) => text.includes(target));
      const downTargets = new Set(webhookEvents.events.filter((event) => event.to === 'DOWN').map((event) => event.target));
      return downTargets.size >= size && named.length >= size;
    };
    // Polled slowly: the receivers must not compete with the bot for the CPU during the storm.
    await until(done, WAIT_MS, '', 250).catch(() => {}); // what has not arrived by then is reported as missing
    await sleep(setup.context.quick ? 300 : 1_000); // anything more (duplicates, late messages) shows too
    await done();
    const downs = webhookEvents.events.filter((event) => event.to === 'DOWN');
    const latencies = downs.map((event) => event.receivedAt - event.eventAt);
    return {
      webhook: summarise(latencies),
      webhookRequests: webhookEvents.requests,
      webhookTargets: new Set(downs.map((event) => event.target)).size,
      unverified: downs.filter((event) => event.verified !== true).length,
      lastAfterCloseMs: Math.max(...downs.map((event) => event.receivedAt)) - closedAt,
      decidedSpreadMs: percentile(downs.map((event) => event.eventAt), 100) - percentile(downs.map((event) => event.eventAt), 0),
      slackMessages: slack.messages.length,
      slackPostCalls: slack.postCalls,
      slackNamed: named.length,
      slackMissingExamples: names.filter((target) => !named.includes(target)).slice(0, 5),
    };
  } finally {
    await bot.stop();
    await fleet.reopen(indexes);
  }
}

async function healthz(port: number): Promise<{ up: number; down: number }> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5_000) });
  const body = (await response.json()) as { targets: { up: number; down: number } };
  return body.targets;
}

async function until(check: () => Promise<boolean>, timeoutMs: number, failure: string, pollMs = 20): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    if (await check()) return;
    await sleep(pollMs);
  }
  throw new Error(failure || `not done within ${timeoutMs} ms`);
}
