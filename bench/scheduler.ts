/**
 * What the scheduler itself costs: 10,000 no-op jobs at a 10 s interval on the system clock.
 * The first interval (every job's first run, right after adding them all) is warm-up; CPU and
 * lag are measured over the `seconds` after it. `--bare` runs plain drift-corrected setTimeout
 * chains instead, the floor to compare with (ratios hold across machines, absolute numbers do not).
 * Run: node --import tsx bench/scheduler.ts [--jobs=10000] [--interval=10000] [--seconds=20] [--bare]
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseArgs } from 'node:util';
import { Scheduler, phaseOffset } from '../src/scheduler/index.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '10000' },
    interval: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '20' },
    bare: { type: 'boolean', default: false },
  },
});
const jobs = Number(values.jobs);
const intervalMs = Number(values.interval);
const seconds = Number(values.seconds);
const MiB = 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function memory(): { rss: number; heap: number } {
  gc();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heap: heapUsed };
}

const lags = new Float64Array(Math.ceil((jobs * seconds * 1000) / intervalMs) + jobs);
let lagCount = 0;
let measuring = false;
function recordLag(lag: number): void {
  if (measuring && lagCount < lags.length) lags[lagCount++] = lag;
}

/** The floor: one drift-corrected setTimeout chain per job, nothing else. */
function startBare(name: string): () => void {
  const phase = phaseOffset(name, intervalMs);
  let due = 0;
  let timer: NodeJS.Timeout;
  const tick = () => {
    recordLag(Date.now() - due);
    arm();
  };
  const arm = () => {
    const now = Date.now();
    due = (Math.floor((Math.max(now, due) - phase) / intervalMs) + 1) * intervalMs + phase;
    timer = setTimeout(tick, due - now);
  };
  arm();
  return () => clearTimeout(timer);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const scheduler = new Scheduler({ maxConcurrent: 256, onLag: recordLag });
const stopBare: (() => void)[] = [];

const before = memory();
const addStart = performance.now();
for (let i = 0; i < jobs; i++) {
  const name = `target-${i}.example.com`;
  if (values.bare) stopBare.push(startBare(name));
  else scheduler.add({ name, intervalMs, timeoutMs: 3000, run: async () => undefined });
}
const addMs = performance.now() - addStart;
await sleep(intervalMs);

measuring = true;
const cpuStart = process.cpuUsage();
const wallStart = performance.now();
await sleep(seconds * 1000);
const cpu = process.cpuUsage(cpuStart);
const wallMs = performance.now() - wallStart;
measuring = false;
const after = memory();
const stats = scheduler.stats();
await scheduler.stop();
for (const stop of stopBare) stop();

const sorted = lags.slice(0, lagCount).sort();
const at = (p: number) => (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN).toFixed(1);
const perJob = (bytes: number) => `${(bytes / jobs / 1024).toFixed(2)} KiB`;
const skipped = stats.skippedOverrun + stats.skippedConcurrency;
console.log(`${values.bare ? 'bare setTimeout chains' : 'Scheduler'}: ${jobs} jobs × ${intervalMs} ms, ${lagCount} runs in ${seconds} s after a one-interval warm-up; ${skipped} skipped; adding took ${addMs.toFixed(0)} ms`);
console.log(`  RSS  ${(after.rss / MiB).toFixed(1)} MiB; the jobs: ${((after.rss - before.rss) / MiB).toFixed(1)} MiB, ${perJob(after.rss - before.rss)} per job`);
console.log(`  heap ${(after.heap / MiB).toFixed(1)} MiB; the jobs: ${((after.heap - before.heap) / MiB).toFixed(1)} MiB, ${perJob(after.heap - before.heap)} per job`);
console.log(`  CPU  ${((100 * (cpu.user + cpu.system)) / 1000 / wallMs).toFixed(2)} % of a core`);
console.log(`  lag  p50 ${at(50)} ms, p99 ${at(99)} ms, max ${at(100)} ms`);
