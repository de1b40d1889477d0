/**
 * Scenario 3, probe cost against Prometheus blackbox_exporter: both probe the same loopback
 * targets (TCP listeners, an HTTP server, ICMP to 127.90.x.y) at the same rate and count, one
 * after the other (alternating which goes first), and each pays CPU seconds (process + children,
 * from /proc) per 1,000 probes. probebot probes on its own schedule; blackbox_exporter is driven
 * through /probe by a load generator in another process, as Prometheus would scrape it.
 * ICMP: probebot holds 10,000 targets (1,000 ICMP at 10 s, 9,000 TCP at 1 h that rarely run) so
 * its fork cost is that of its real size; blackbox_exporter uses a raw socket (it runs as root).
 * The window opens once every measured target has probed at least once, so it holds the steady
 * state and not first probes (a target's first result is a state change that is saved).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadDriverApi } from '../servers/load-driver.js';
import type { TargetsApi } from '../servers/targets.js';
import { icmpTargetHost } from '../harness/addresses.js';
import { Blackbox, findBlackbox, type BlackboxLookup } from '../harness/blackbox.js';
import type { ConfigObject } from '../harness/config.js';
import { scratchDir, type BenchContext } from '../harness/context.js';
import { TcpFleet } from '../harness/fleet.js';
import { fleetTargets } from '../harness/fleet-targets.js';
import { Helper } from '../harness/helper.js';
import { startAll } from '../harness/start-all.js';
import { icmpEchoesReceived } from '../harness/icmp-echoes.js';
import { cpuBetween, ProcSampler } from '../harness/proc.js';
import { profiledRun } from '../harness/profiled-run.js';
import type { Reporter } from '../harness/reporter.js';
import { atMost, formatValue, type Bar } from '../harness/rows.js';
import type { Scenario } from '../harness/scenario.js';
import { median } from '../harness/stats.js';
import { steadyRun, type SteadyRunOptions } from '../harness/steady-run.js';

type Kind = 'tcp' | 'http' | 'icmp';

interface KindPlan {
  targets: number;
  intervalMs: number;
  windowMs: number;
  /** Extra long-interval targets so the bot has its real size. */
  ballast: number;
}

interface Plan {
  kinds: Record<Kind, KindPlan>;
  warmupMs: number;
}

const FULL: Plan = {
  warmupMs: 4_000,
  kinds: {
    tcp: { targets: 500, intervalMs: 1_000, windowMs: 10_000, ballast: 0 },
    http: { targets: 500, intervalMs: 1_000, windowMs: 10_000, ballast: 0 },
    icmp: { targets: 1_000, intervalMs: 10_000, windowMs: 30_000, ballast: 9_000 },
  },
};
const QUICK: Plan = {
  warmupMs: 500,
  kinds: {
    tcp: { targets: 200, intervalMs: 1_000, windowMs: 1_000, ballast: 0 },
    http: { targets: 200, intervalMs: 1_000, windowMs: 1_000, ballast: 0 },
    icmp: { targets: 100, intervalMs: 1_000, windowMs: 2_000, ballast: 900 },
  },
};

/**
 * The warm-up before the window: at least one interval and a second, so that every target has
 * had its first probe. With 4 s at a 10 s interval, 60% of the ICMP targets had their first probe
 * inside the window: a fifth of its probes.
 */
function warmupFor(plan: Plan, kind: Kind): number {
  return Math.max(plan.warmupMs, plan.kinds[kind].intervalMs + 1_000);
}

const BARS: Record<Kind, Bar> = { tcp: atMost(0.5, '×'), http: atMost(0.6, '×'), icmp: atMost(0.5, '×') };
const MODULE = { tcp: 'tcp_connect', http: 'http_2xx', icmp: 'icmp' } as const;
const LABEL = { tcp: 'TCP', http: 'HTTP', icmp: 'ICMP' } as const;
const MiB = 2 ** 20;

interface Measured {
  probes: number;
  cpuSeconds: number;
  per1000: number;
  rssMiB?: number;
  note?: string;
}

export const probeCost: Scenario = {
  name: 'probe-cost',
  title: 'CPU seconds per 1,000 probes: probebot against blackbox_exporter (TCP, HTTP, ICMP)',
  async run(context, report) {
    const plan = context.quick ? QUICK : FULL;
    report.detail('plan', plan);
    // The smoke run keeps to its minute: the comparison is the full run's.
    const lookup: BlackboxLookup = context.quick
      ? { path: undefined, reason: 'quick run: the blackbox_exporter comparison is made by the full run only' }
      : await findBlackbox({ mayInstall: true, log: context.log });
    if (lookup.path === undefined) report.note(`blackbox_exporter comparison skipped: ${lookup.reason}`);
    else report.note(`blackbox_exporter at ${lookup.path}${lookup.installed ? ' (installed by this run)' : ''}, running as ${process.getuid?.() === 0 ? 'root (its ICMP prober uses a raw socket)' : 'non-root'}`);
    const [fleet, targets, driver] = await startAll(
      TcpFleet.start(plan.kinds.tcp.targets),
      Helper.start<TargetsApi>('targets.ts', 'targets'),
      Helper.start<LoadDriverApi>('load-driver.ts', 'load-driver'),
    );
    let blackbox: Blackbox | undefined;
    try {
      if (lookup.path !== undefined) blackbox = await Blackbox.start(lookup.path, await scratchDir(context, 'blackbox'));
      const httpUrl = (await targets.call('httpOk', {} as never)).url;
      const setup = { context, plan, fleet, targets, httpUrl };
      const results: Record<Kind, { probebot: Measured[]; blackbox: Measured[] }> = { tcp: { probebot: [], blackbox: [] }, http: { probebot: [], blackbox: [] }, icmp: { probebot: [], blackbox: [] } };
      for (let round = 0; round < Math.max(1, context.repeat); round++) {
        for (const kind of ['tcp', 'http', 'icmp'] as const) {
          const measureBot = async () => results[kind].probebot.push(await measureProbebot(setup, kind));
          const measurePeer = async () => {
            if (blackbox) results[kind].blackbox.push(await measureBlackbox(setup, driver, blackbox, kind, results[kind].probebot.at(-1)?.probes));
          };
          context.log(`probe-cost: ${LABEL[kind]} round ${round + 1}`);
          // Alternate who goes first, so neither always gets the quieter minute.
          if (round % 2 === 0) {
            await measureBot();
            await measurePeer();
          } else {
            await measurePeer();
            await measureBot();
          }
        }
      }
      report.detail('results', results);
      for (const kind of ['tcp', 'http', 'icmp'] as const) reportKind(report, plan, kind, results[kind].probebot, results[kind].blackbox, lookup.path === undefined ? lookup.reason : undefined);
      const failing = (['tcp', 'http', 'icmp'] as const).find((kind) => report.failed.some((row) => row.figure.startsWith(LABEL[kind])));
      if (failing && !context.quick) await profiledRun(context, report, probebotOptions(setup, failing));
    } finally {
      await blackbox?.stop();
      await driver.stop();
      await targets.stop();
      await fleet.stop();
    }
  },
};

interface Setup {
  context: BenchContext;
  plan: Plan;
  fleet: TcpFleet;
  targets: Helper<TargetsApi>;
  httpUrl: string;
}

function probebotOptions(setup: Setup, kind: Kind): SteadyRunOptions {
  const { plan, fleet } = setup;
  const kindPlan = plan.kinds[kind];
  const ballast: ConfigObject[] = Array.from({ length: kindPlan.ballast }, (_, i) => ({ name: `ballast-${String(i).padStart(5, '0')}`, type: 'tcp', host: fleet.host(i % fleet.size), port: fleet.port, interval: '1h' }));
  const base = { label: `probe-cost-${kind}`, fleet, warmupMs: warmupFor(plan, kind), windowMs: kindPlan.windowMs, tailMs: 500 };
  const config = (targets: ConfigObject[]) => ({ maxConcurrentProbes: 4_096, defaults: { interval: `${kindPlan.intervalMs}ms`, timeout: '3s' }, targets: [...targets, ...ballast] });
  if (kind === 'tcp') {
    const { config: tcp, graded } = fleetTargets(fleet, kindPlan.targets, kindPlan.intervalMs);
    return { ...base, config: config(tcp), graded };
  }
  if (kind === 'http') {
    const http = Array.from({ length: kindPlan.targets }, (_, i) => ({ name: `web-${String(i).padStart(5, '0')}`, type: 'http', url: `${setup.httpUrl}/probebot/${i}` }));
    return { ...base, config: config(http), graded: [], counter: async () => (await setup.targets.call('counts', {} as never)).okRequests };
  }
  const icmp = Array.from({ length: kindPlan.targets }, (_, i) => ({ name: `ping-${String(i).padStart(5, '0')}`, type: 'icmp', host: icmpTargetHost(i) }));
  return { ...base, config: config(icmp), graded: [], counter: icmpEchoesReceived };
}

async function measureProbebot(setup: Setup, kind: Kind): Promise<Measured> {
  const result = await steadyRun(setup.context, probebotOptions(setup, kind));
  const probes = kind === 'tcp' ? result.executed : (result.counted ?? 0);
  const expected = (setup.plan.kinds[kind].targets * setup.plan.kinds[kind].windowMs) / setup.plan.kinds[kind].intervalMs;
  const measured: Measured = { probes, cpuSeconds: result.cpuSeconds, per1000: (1000 * result.cpuSeconds) / probes, rssMiB: result.rssBytes / MiB };
  if (probes < expected * 0.95) measured.note = `only ${probes} of ~${expected} probes seen`;
  return measured;
}

async function measureBlackbox(setup: Setup, driver: Helper<LoadDriverApi>, blackbox: Blackbox, kind: Kind, count: number | undefined): Promise<Measured> {
  const kindPlan = setup.plan.kinds[kind];
  const perSecond = (kindPlan.targets * 1000) / kindPlan.intervalMs;
  const probes = count && count > 0 ? count : Math.round((perSecond * kindPlan.windowMs) / 1000);
  const address = (i: number) => (kind === 'tcp' ? `${setup.fleet.host(i)}:${setup.fleet.port}` : kind === 'http' ? `${setup.httpUrl}/blackbox/${i}` : icmpTargetHost(i));
  const urls = Array.from({ length: kindPlan.targets }, (_, i) => blackbox.probeUrl(MODULE[kind], address(i)));
  // Warm it up as the bot is warmed up: the same load, not measured.
  await driver.call('getPaced', { urls, count: Math.round((perSecond * warmupFor(setup.plan, kind)) / 1000), perSecond, successText: 'probe_success 1', timeoutMs: 10_000 });
  await sleep(200);
  const sampler = new ProcSampler(blackbox.pid);
  const echoesBefore = kind === 'icmp' ? await icmpEchoesReceived() : 0;
  const first = sampler.take();
  const answer = await driver.call('getPaced', { urls, count: probes, perSecond, successText: 'probe_success 1', timeoutMs: 10_000 });
  const last = sampler.take();
  const cpu = cpuBetween(first, last);
  const measured: Measured = { probes: answer.succeeded, cpuSeconds: cpu.seconds, per1000: (1000 * cpu.seconds) / Math.max(1, answer.succeeded) };
  if (answer.succeeded < answer.sent) measured.note = `${answer.sent - answer.succeeded} of ${answer.sent} probes failed: ${answer.firstFailure}`;
  if (kind === 'icmp') measured.note = `${measured.note ? `${measured.note}; ` : ''}${(await icmpEchoesReceived()) - echoesBefore} echo requests seen`;
  return measured;
}

function reportKind(report: Reporter, plan: Plan, kind: Kind, probebot: Measured[], blackbox: Measured[], skipped: string | undefined): void {
  const kindPlan = plan.kinds[kind];
  const label = LABEL[kind];
  const rate = (kindPlan.targets * 1000) / kindPlan.intervalMs;
  const notes = (runs: Measured[]) => [...new Set(runs.flatMap((run) => run.note ?? []))].join('; ');
  const size = kind === 'icmp' ? `, bot holding ${kindPlan.targets + kindPlan.ballast} targets at ${formatValue(median(probebot.map((run) => run.rssMiB ?? Number.NaN)))} MiB RSS` : '';
  report.row({
    figure: `${label}: probebot CPU s per 1,000 probes`,
    unit: 's',
    runs: probebot.map((run) => run.per1000),
    note: `${formatValue(median(probebot.map((run) => run.probes)))} probes per run at ${rate}/s${size}${notes(probebot) ? `; ${notes(probebot)}` : ''}`,
  });
  if (skipped !== undefined) {
    report.skip(`${label}: probebot / blackbox_exporter`, BARS[kind], skipped);
    return;
  }
  report.row({ figure: `${label}: blackbox_exporter CPU s per 1,000 probes`, unit: 's', runs: blackbox.map((run) => run.per1000), ...(notes(blackbox) ? { note: notes(blackbox) } : {}) });
  const ratios = probebot.map((run, i) => run.per1000 / (blackbox[i]?.per1000 ?? Number.NaN));
  report.row({ figure: `${label}: probebot / blackbox_exporter`, unit: '×', runs: ratios, bar: BARS[kind] });
}
