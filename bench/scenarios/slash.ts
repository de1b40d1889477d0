/**
 * Scenario 5, the Slack slash command: 50 signed `/probe <target>` requests at once to
 * /slack/events (HTTP mode) while the bot runs its scheduled load (scenario 1's 10,000 targets).
 * Each must be acknowledged within 200 ms, each response_url must get its answer, and the
 * scheduled probes' start lag in the window holding the burst must stay within scenario 1's bar.
 * One command is sent first, unmeasured: the first request after start loads Bolt's code path.
 * Skipped, with the reason, while the bot has no /slack/events route.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadDriverApi } from '../servers/load-driver.js';
import type { ReceiversApi } from '../servers/receivers.js';
import { BotProcess } from '../harness/bot.js';
import { writeConfig } from '../harness/config.js';
import { scratchDir, type BenchContext } from '../harness/context.js';
import { TcpFleet } from '../harness/fleet.js';
import { fleetTargets } from '../harness/fleet-targets.js';
import { matchArrivals } from '../harness/grid.js';
import { Helper } from '../harness/helper.js';
import { startAll } from '../harness/start-all.js';
import { histogramDelta, histogramQuantile, scrapeMetrics, type LagHistogram } from '../harness/metrics.js';
import { formatProfile, newestProfile, summariseProfile } from '../harness/profile.js';
import { atMost, below, formatValue } from '../harness/rows.js';
import type { Scenario } from '../harness/scenario.js';
import { median, summarise } from '../harness/stats.js';
import { BARS, scaleConfig } from './scale.js';

const COMMANDS = 50;
const SIGNING_SECRET = 'bench-signing-secret-0123456789abcdef';
const ANSWER_WAIT_MS = 15_000;

interface Plan {
  background: number;
  intervalMs: number;
  warmupMs: number;
  windowMs: number;
}

const FULL: Plan = { background: 10_000, intervalMs: 10_000, warmupMs: 5_000, windowMs: 10_000 };
const QUICK: Plan = { background: 500, intervalMs: 1_000, warmupMs: 1_000, windowMs: 1_500 };

interface Setup {
  context: BenchContext;
  plan: Plan;
  fleet: TcpFleet;
  receivers: Helper<ReceiversApi>;
  driver: Helper<LoadDriverApi>;
  endpoints: { slackApiUrl: string; slackToken: string; responseUrl: string };
}

type Burst = Exclude<Awaited<ReturnType<typeof burst>>, 'no route'>;

export const slash: Scenario = {
  name: 'slash',
  title: '50 concurrent signed /probe commands: ack, response_url answers, scheduled lag',
  async run(context, report) {
    const plan = context.quick ? QUICK : FULL;
    const [fleet, receivers, driver] = await startAll(
      TcpFleet.start(plan.background + COMMANDS),
      Helper.start<ReceiversApi>('receivers.ts', 'receivers'),
      Helper.start<LoadDriverApi>('load-driver.ts', 'load-driver'),
    );
    try {
      const endpoints = await receivers.call('start', { webhookSecret: 'whsec_YmVuY2hiZW5jaGJlbmNoYmVuY2g=', slackMessagesPerSecond: 1 });
      const setup: Setup = { context, plan, fleet, receivers, driver, endpoints };
      const bursts: Burst[] = [];
      for (let run = 0; run < Math.max(1, context.repeat); run++) {
        context.log(`slash: burst ${run + 1} of ${COMMANDS} commands over ${plan.background} scheduled targets`);
        const result = await burst(setup);
        if (result === 'no route') {
          for (const figure of ['ack p99', 'response_url answers missing', 'scheduled lag p99 with the burst']) report.skip(`${COMMANDS} /probe: ${figure}`, undefined, 'the bot serves no /slack/events (Slack app not wired in)');
          return;
        }
        bursts.push(result);
      }
      report.detail('bursts', bursts);
      const failedAcks = bursts.flatMap((b) => b.acks.filter((ack) => ack.status !== 200));
      report.row({
        figure: `${COMMANDS} concurrent /probe: ack p99`,
        unit: 'ms',
        runs: bursts.map((b) => (b.acks.some((ack) => ack.status !== 200) ? Number.NaN : summarise(b.acks.map((ack) => ack.ms)).p99)),
        bar: below(200, 'ms'),
        note: failedAcks.length > 0
          ? `${failedAcks.length} not acknowledged with 200, e.g. ${failedAcks[0]!.status} ${failedAcks[0]!.body.slice(0, 120)}`
          : `p50 ${formatValue(median(bursts.map((b) => summarise(b.acks.map((ack) => ack.ms)).p50)))} ms; after one unmeasured command (acked in ${bursts.map((b) => formatValue(b.warmupAckMs)).join(', ')} ms)`,
      });
      report.row({ figure: `${COMMANDS} concurrent /probe: response_url answers missing`, unit: 'requests', runs: bursts.map((b) => COMMANDS - b.answered), bar: atMost(0, '') });
      report.row({
        figure: `scheduled arrival lag p99, ${plan.windowMs / 1000} s holding the burst`,
        unit: 'ms',
        runs: bursts.map((b) => b.duringP99),
        bar: BARS.lagP99Ms,
        note: `${formatValue(median(bursts.map((b) => b.beforeP99)))} ms in the ${plan.windowMs / 1000} s before; executed ${formatValue(median(bursts.map((b) => b.duringExecutedPercent)))} %`,
      });
      if (bursts.every((b) => b.metricsDuringP99 !== undefined)) {
        report.row({ figure: 'start lag p99 (/metrics), window holding the burst', unit: 'ms', runs: bursts.map((b) => b.metricsDuringP99!), note: `before: ${formatValue(median(bursts.map((b) => b.metricsBeforeP99 ?? Number.NaN)))} ms` });
      }
      if (report.failed.length > 0 && !context.quick) {
        const dir = join(context.resultsDir, 'profiles', 'slash');
        context.log('slash: a bar was missed; one more burst under --cpu-prof');
        const profiled = await burst(setup, dir);
        const file = await newestProfile(dir);
        if (file && profiled !== 'no route') report.lines(formatProfile(await summariseProfile(file, context.repoRoot, { skipFirstMs: profiled.burstOffsetMs })));
      }
    } finally {
      await driver.stop();
      await receivers.stop();
      await fleet.stop();
    }
  },
};

async function burst(setup: Setup, cpuProfileDir?: string) {
  const { context, plan, fleet, receivers, driver, endpoints } = setup;
  const { config, graded } = fleetTargets(fleet, plan.background, plan.intervalMs);
  // The commands' own targets listen apart from the graded ones, so on-demand probes never count as ticks.
  const slashTargets = Array.from({ length: COMMANDS }, (_, i) => ({ name: slashTarget(i), type: 'tcp', host: fleet.host(plan.background + i), port: fleet.port, interval: '1h' }));
  const dir = await scratchDir(context, 'slash');
  const configPath = await writeConfig(dir, {
    ...scaleConfig([...config, ...slashTargets], plan.intervalMs),
    stateDir: join(dir, 'state'),
    slack: { botToken: endpoints.slackToken, apiUrl: endpoints.slackApiUrl, signingSecret: SIGNING_SECRET },
  });
  const options = { cliPath: context.cliPath, configPath, logPath: join(dir, 'bot.log'), cwd: dir };
  const bot = await BotProcess.start(cpuProfileDir ? { ...options, cpuProfileDir } : options);
  try {
    const eventsUrl = `http://127.0.0.1:${bot.port}/slack/events`;
    const probe = await fetch(eventsUrl, { method: 'POST', body: '', signal: AbortSignal.timeout(5_000) });
    if (probe.status === 404) return 'no route' as const;
    const warmup = await driver.call('slashCommands', { url: eventsUrl, signingSecret: SIGNING_SECRET, bodies: [slashBody(slashTarget(0), `${endpoints.responseUrl}/warmup`)], timeoutMs: 10_000 });
    await sleep(Math.max(0, bot.readyAt + plan.warmupMs - Date.now()));
    await fleet.arrivals(true);
    const beforeFrom = Date.now();
    const metricsBefore = await scrapeMetrics(bot.port);
    await sleep(plan.windowMs);
    const burstFrom = Date.now();
    const metricsAtBurst = await scrapeMetrics(bot.port);
    await receivers.call('reset', {} as never);
    const bodies = Array.from({ length: COMMANDS }, (_, i) => slashBody(slashTarget(i), `${endpoints.responseUrl}/${i}`));
    const acks = await driver.call('slashCommands', { url: eventsUrl, signingSecret: SIGNING_SECRET, bodies, timeoutMs: 10_000 });
    await sleep(Math.max(0, burstFrom + plan.windowMs - Date.now()));
    const metricsAfter = await scrapeMetrics(bot.port);
    const answered = new Set<string>();
    for (const deadline = Date.now() + ANSWER_WAIT_MS; Date.now() < deadline && answered.size < COMMANDS;) {
      for (const post of await receivers.call('responseUrlPosts', {} as never)) answered.add(post.path);
      if (answered.size < COMMANDS) await sleep(100);
    }
    await sleep(1_000);
    const arrivals = await fleet.arrivals(true);
    const before = matchArrivals(graded, arrivals, { from: beforeFrom, to: burstFrom });
    const during = matchArrivals(graded, arrivals, { from: burstFrom, to: burstFrom + plan.windowMs });
    const quantile = (from: LagHistogram | undefined, to: LagHistogram | undefined) => (from && to ? 1000 * histogramQuantile(histogramDelta(from, to), 0.99) : undefined);
    return {
      acks: acks.map((ack) => ({ status: ack.status, ms: ack.ms, body: ack.status === 200 ? '' : ack.body })),
      warmupAckMs: warmup[0]?.ms ?? Number.NaN,
      answered: answered.size,
      beforeP99: summarise(before.lagsMs).p99,
      duringP99: summarise(during.lagsMs).p99,
      duringExecutedPercent: (100 * during.executed) / Math.max(1, during.scheduled),
      metricsBeforeP99: quantile(metricsBefore?.lag, metricsAtBurst?.lag),
      metricsDuringP99: quantile(metricsAtBurst?.lag, metricsAfter?.lag),
      /** From the bot's start to the burst: what a profile should skip. */
      burstOffsetMs: burstFrom - bot.spawnedAt,
    };
  } finally {
    await bot.stop();
  }
}

function slashTarget(i: number): string {
  return `slash-${String(i).padStart(2, '0')}`;
}

/** A slash command's form body as Slack sends it. */
function slashBody(text: string, responseUrl: string): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: 'T0FAKE',
    team_domain: 'fake',
    channel_id: 'C0BENCH',
    channel_name: 'bench',
    user_id: 'U0BENCH',
    user_name: 'bench',
    command: '/probe',
    text,
    api_app_id: 'A0BENCH',
    is_enterprise_install: 'false',
    response_url: responseUrl,
    trigger_id: '1.2.3',
  }).toString();
}
