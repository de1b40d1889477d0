/**
 * CPU seconds per 1,000 ICMP probes to 127.0.x.y, through createIcmpProbe: batched fping against
 * one ping per probe, from this process (optionally grown to a realistic bot size, since fork
 * cost grows with the parent). Counts the parent (process.cpuUsage) and its reaped children
 * (cutime + cstime in /proc/self/stat). Linux only.
 *
 *   node --import tsx bench/icmp-cost.ts [--probes 1000] [--rate 100] [--ping-rate 20] [--ballast-mib 0]
 *
 * The first row is the harness alone (targets, deadlines, promises; no child), to subtract.
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveTarget } from '../src/config/resolve.js';
import type { IcmpTarget } from '../src/config/schema.js';
import { createIcmpProbe, detectIcmpTools, type IcmpProbeOptions } from '../src/probes/icmp.js';
import { deadlineReason, type ProbeResult } from '../src/probes/types.js';

const { values } = parseArgs({
  options: {
    probes: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '100' },
    'ping-rate': { type: 'string', default: '20' },
    'ballast-mib': { type: 'string', default: '0' },
  },
});
const probes = Number(values.probes);
const rate = Number(values.rate);
const pingRate = Number(values['ping-rate']);
const ballastMib = Number(values['ballast-mib']);
const TIMEOUT_MS = 1000;
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Live objects the size of a bigger bot: fork copies their page tables. */
const ballast: number[][] = [];
for (let mib = 0; mib < ballastMib; mib += 1) ballast.push(Array.from({ length: 128 * 1024 }, (_, i) => i));

const host = (i: number): string => `127.0.${Math.floor(i / 250) % 4}.${(i % 250) + 1}`;
const target = (i: number): IcmpTarget => resolveTarget({ name: `t${i}`, type: 'icmp', host: host(i), timeout: TIMEOUT_MS }, {}) as IcmpTarget;

function childrenCpuSeconds(): number {
  // Fields after the ")" of the command name: index 13 and 14 are cutime and cstime (fields 16, 17).
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

type SendProbe = ReturnType<typeof createIcmpProbe>['probe'];

function probeWithDeadline(probe: SendProbe, i: number): Promise<ProbeResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(deadlineReason(TIMEOUT_MS)), TIMEOUT_MS);
  return probe(target(i), controller.signal).finally(() => clearTimeout(timer));
}

/** Waits (bounded) until every child has been reaped, so its CPU shows in cutime/cstime. */
async function childrenReaped(): Promise<void> {
  for (const end = Date.now() + 5000; process.getActiveResourcesInfo().includes('ProcessWrap') && Date.now() < end;) await sleep(10);
}

async function measure(name: string, options: IcmpProbeOptions | SendProbe, send: (probe: SendProbe) => Promise<ProbeResult[]>): Promise<void> {
  const prober = typeof options === 'function' ? { probe: options, close: () => {} } : createIcmpProbe(options);
  await childrenReaped();
  const parentBefore = process.cpuUsage();
  const childrenBefore = childrenCpuSeconds();
  const started = performance.now();
  const results = await send(prober.probe);
  await childrenReaped();
  const wall = (performance.now() - started) / 1000;
  const parent = process.cpuUsage(parentBefore);
  const parentSeconds = (parent.user + parent.system) / 1e6;
  const childSeconds = childrenCpuSeconds() - childrenBefore;
  prober.close();
  const failed = results.filter((result) => !result.ok);
  const per1000 = (seconds: number): string => ((seconds / results.length) * 1000).toFixed(3);
  console.log(
    `${name.padEnd(38)} ${String(results.length).padStart(6)} ${per1000(parentSeconds + childSeconds).padStart(8)} ` +
      `${per1000(parentSeconds).padStart(8)} ${per1000(childSeconds).padStart(8)} ${wall.toFixed(1).padStart(6)} ${String(failed.length).padStart(5)}` +
      (failed[0] ? `  first failure: ${failed[0].error}` : ''),
  );
}

/** All probes at once, in rounds of `size` (what a batch of targets due together looks like). */
const inRounds = (size: number) => async (probe: SendProbe): Promise<ProbeResult[]> => {
  const results: ProbeResult[] = [];
  for (let start = 0; start < probes; start += size) {
    const round = Array.from({ length: Math.min(size, probes - start) }, (_, i) => probeWithDeadline(probe, start + i));
    results.push(...(await Promise.all(round)));
  }
  return results;
};

/** One probe every 1/perSecond s, as a scheduler with phases spread over the interval sends them. */
const paced = (perSecond: number) => async (probe: SendProbe): Promise<ProbeResult[]> => {
  const pending: Promise<ProbeResult>[] = [];
  const start = performance.now();
  for (let i = 0; i < probes; i += 1) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(probeWithDeadline(probe, i));
  }
  return Promise.all(pending);
};

const tools = await detectIcmpTools();
if (!tools.fping || !tools.ping) throw new Error('this bench needs both fping and ping on PATH');
console.log(`node ${process.version}, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB (ballast ${ballastMib} MiB, ${ballast.length} arrays), ${probes} probes, timeout ${TIMEOUT_MS}ms`);
console.log(`${'scenario'.padEnd(38)} ${'probes'.padStart(6)} ${'cpu/1k'.padStart(8)} ${'parent'.padStart(8)} ${'child'.padStart(8)} ${'wall s'.padStart(6)} ${'fail'.padStart(5)}`);
const noChild: SendProbe = async () => ({ ok: true, at: Date.now(), latencyMs: 0 });
await measure('harness only, rounds of 100', noChild, inRounds(100));
await measure('fping, rounds of 100 in one tick', { fpingPath: tools.fping }, inRounds(100));
await measure('fping, rounds of 1000 in one tick', { fpingPath: tools.fping }, inRounds(1000));
await measure(`fping, paced ${rate}/s, 5 ms window`, { fpingPath: tools.fping, batchWindowMs: 5 }, paced(rate));
await measure(`fping, paced ${rate}/s, 50 ms window`, { fpingPath: tools.fping, batchWindowMs: 50 }, paced(rate));
await measure(`ping per probe, paced ${pingRate}/s`, { fpingPath: null, pingPath: tools.ping }, paced(pingRate));
await measure(`ping per probe, paced ${rate}/s`, { fpingPath: null, pingPath: tools.ping }, paced(rate));
await measure('ping per probe, rounds of 100', { fpingPath: null, pingPath: tools.ping }, inRounds(100));
