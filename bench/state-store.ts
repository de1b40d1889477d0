/**
 * What saving target states costs: 10,000 targets, statuses updated at a given rate for a few
 * seconds, one flush per second. Compares three designs:
 *   snapshot-all     re-encode every status and write one snapshot file each flush
 *   snapshot-cached  re-encode only changed statuses (lines cached), write one snapshot
 *   append-log       StateStore: append the changed statuses to a log; rewrite it whole when it
 *                    grows past 4× the live data
 * Reports per flush: CPU ms (user + system, all threads, so fsync and the thread pool count),
 * wall ms, bytes written, and the longest event-loop stall during the run.
 *
 *   node --import tsx bench/state-store.ts [seconds=10] [targets=10000]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../src/log.js';
import { initialStatus, step } from '../src/monitor/state-machine.js';
import { encodeStatus, StateStore, writeAtomically } from '../src/monitor/store.js';
import type { StatePolicy, TargetStatus } from '../src/monitor/types.js';

const SECONDS = Number(process.argv[2] ?? 10);
const TARGETS = Number(process.argv[3] ?? 10_000);
const TICKS_PER_SECOND = 10;
const POLICY: StatePolicy = { failureThreshold: 3, successThreshold: 2, flap: { window: 21, high: 30, low: 15 } };

interface Design {
  update(status: TargetStatus): void;
  /** Resolves with the bytes written. */
  flush(): Promise<number>;
}

class SnapshotAll implements Design {
  private readonly statuses = new Map<string, TargetStatus>();
  private dirty = false;
  constructor(private readonly dir: string) {}
  update(status: TargetStatus): void {
    this.statuses.set(status.target, status);
    this.dirty = true;
  }
  async flush(): Promise<number> {
    if (!this.dirty) return 0;
    this.dirty = false;
    const lines = [...this.statuses.values()].map(encodeStatus);
    const content = Buffer.from(`{"format":"probebot-target-states","version":1,"targets":[\n${lines.join(',\n')}\n]}\n`);
    await writeAtomically(this.dir, join(this.dir, 'targets.json'), content);
    return content.length;
  }
}

class SnapshotCached implements Design {
  private readonly lines = new Map<string, string>();
  private readonly changed = new Map<string, TargetStatus>();
  constructor(private readonly dir: string) {}
  update(status: TargetStatus): void {
    this.changed.set(status.target, status);
  }
  async flush(): Promise<number> {
    if (this.changed.size === 0) return 0;
    for (const [target, status] of this.changed) this.lines.set(target, encodeStatus(status));
    this.changed.clear();
    const content = Buffer.from(`{"format":"probebot-target-states","version":1,"targets":[\n${[...this.lines.values()].join(',\n')}\n]}\n`);
    await writeAtomically(this.dir, join(this.dir, 'targets.json'), content);
    return content.length;
  }
}

/** The real thing: an append-only log with compaction. */
class AppendLog implements Design {
  private readonly store: StateStore;
  constructor(dir: string) {
    this.store = new StateStore({ dir, flushIntervalMs: 1000, logger: silentLogger() });
  }
  update(status: TargetStatus): void {
    this.store.update(status);
  }
  async flush(): Promise<number> {
    const before = this.store.stats().bytesWritten;
    await this.store.flush();
    return this.store.stats().bytesWritten - before;
  }
}

/** Realistic statuses: a full history, 20 latencies, 5% of targets failing with an error. */
function makeStatuses(count: number): TargetStatus[] {
  return Array.from({ length: count }, (_, i) => {
    let status = initialStatus(`svc-${i}.eu-west-1.internal:8443/health`, 0);
    for (let n = 0; n < 21; n++) {
      const ok = i % 20 !== 0 || n % 3 === 0;
      const latencyMs = 3 + Math.random() * 40;
      status = step(status, ok ? { ok, latencyMs, at: n } : { ok, latencyMs, at: n, error: `connect ECONNREFUSED 10.0.${i % 250}.7:5432` }, POLICY, n).status;
    }
    return status;
  });
}

async function measure(name: string, design: Design, statuses: TargetStatus[], updatesPerSecond: number) {
  const perTick = Math.round(updatesPerSecond / TICKS_PER_SECOND);
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const flushes: Array<{ cpuMs: number; wallMs: number; bytes: number }> = [];
  let next = 0;
  loop.enable();
  for (let second = 0; second < SECONDS; second++) {
    for (let tick = 0; tick < TICKS_PER_SECOND; tick++) {
      for (let u = 0; u < perTick; u++) {
        const index = next++ % statuses.length;
        const current = statuses[index]!;
        const updated = step(current, { ok: true, latencyMs: 3 + Math.random() * 40, at: second }, POLICY, second).status;
        statuses[index] = updated;
        design.update(updated);
      }
      await sleep(1000 / TICKS_PER_SECOND);
    }
    const cpu = process.cpuUsage();
    const start = performance.now();
    const bytes = await design.flush();
    const used = process.cpuUsage(cpu);
    flushes.push({ cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - start, bytes });
  }
  loop.disable();
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  return {
    design: name,
    'updates/s': updatesPerSecond,
    'cpu ms/flush (median)': median(flushes.map((f) => f.cpuMs)).toFixed(1),
    'cpu ms/flush (mean)': mean(flushes.map((f) => f.cpuMs)).toFixed(1),
    'wall ms/flush (median)': median(flushes.map((f) => f.wallMs)).toFixed(1),
    'KB written/flush (mean)': (mean(flushes.map((f) => f.bytes)) / 1024).toFixed(0),
    'max loop stall ms': (loop.max / 1e6).toFixed(1),
  };
}

/** No store at all: the event-loop stall the update loop and the machine cause by themselves. */
class Baseline implements Design {
  update(): void {}
  flush(): Promise<number> {
    return Promise.resolve(0);
  }
}

const designs: Array<[string, (dir: string) => Design]> = [
  ['baseline (no store)', () => new Baseline()],
  ['snapshot-all', (dir) => new SnapshotAll(dir)],
  ['snapshot-cached', (dir) => new SnapshotCached(dir)],
  ['append-log', (dir) => new AppendLog(dir)],
];
const rows = [];
for (const updatesPerSecond of [TARGETS, TARGETS / 10]) {
  for (const [name, create] of designs) {
    const dir = await mkdtemp(join(tmpdir(), 'probebot-bench-'));
    try {
      const statuses = makeStatuses(TARGETS);
      const design = create(dir);
      // Everything is written once before measuring, as after a restart.
      for (const status of statuses) design.update(status);
      await design.flush();
      rows.push(await measure(name, design, statuses, updatesPerSecond));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
console.log(`${TARGETS} targets, ${SECONDS} flushes of 1 s each, Node ${process.version}`);
console.table(rows);
