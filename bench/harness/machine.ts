/** What the numbers were measured on: they move between machines; ratios in one run hold. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { statFieldsAfterName } from './proc.js';

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  /** The cgroup's CPU quota, e.g. "200000 100000" (2 cores), when one is set. */
  cgroupCpuMax: string | undefined;
  memoryMiB: number;
  node: string;
  kernel: string;
  /** 1, 5 and 15 minute load averages. */
  loadAverage: number[];
  fdLimit: string | undefined;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    cgroupCpuMax: readIfExists('/sys/fs/cgroup/cpu.max'),
    memoryMiB: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    kernel: os.release(),
    loadAverage: loadAverage(),
    fdLimit: /^Max open files\s+(\d+)/m.exec(readIfExists('/proc/self/limits') ?? '')?.[1],
  };
}

export function loadAverage(): number[] {
  return os.loadavg().map((value) => Math.round(value * 100) / 100);
}

function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : undefined;
}

/** Jiffies from the first line of /proc/stat: all of them, and those spent idle or waiting for I/O. */
export interface CpuTimes {
  total: number;
  idle: number;
}

export function parseProcStat(text: string): CpuTimes | undefined {
  const fields = /^cpu\s+(.*)$/m.exec(text)?.[1]?.trim().split(/\s+/).map(Number);
  if (!fields || fields.length < 5 || fields.some((value) => !Number.isFinite(value))) return undefined;
  // user nice system idle iowait irq softirq steal [guest guest_nice, already inside user and nice]
  const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
  return { total, idle: fields[3]! + fields[4]! };
}

/** The share of all cores' time that was busy between two readings, 0 to 1. */
export function busyShare(before: CpuTimes, after: CpuTimes): number {
  const total = after.total - before.total;
  return total > 0 ? Math.min(1, Math.max(0, 1 - (after.idle - before.idle) / total)) : 0;
}

/**
 * Waits, up to maxWaitMs, for a second in which the machine's cores are less than maxBusy busy:
 * a scenario started while something else still runs (a test suite, the last scenario's
 * helpers winding down) measures that too. Returns the last second's busy share, or undefined
 * where /proc/stat cannot be read.
 */
export async function waitForQuietMachine(maxBusy: number, maxWaitMs: number): Promise<number | undefined> {
  const read = (): CpuTimes | undefined => parseProcStat(readIfExists('/proc/stat') ?? '');
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const before = read();
    await sleep(1000);
    const after = read();
    if (!before || !after) return undefined;
    const busy = busyShare(before, after);
    if (busy < maxBusy || Date.now() >= deadline) return busy;
  }
}

/**
 * Kernel threads' CPU, by kind: the VM's kernel may run work of its own that does not yield (a
 * kernel built without preemption), and that lands on the cores the bot and the listeners share.
 * On the VMs these figures come from, DAMON's monitor (kdamond) wakes every ~0.5 s and holds a
 * core for tens of milliseconds, more when the processes' memory is bigger and busier.
 */
export type KernelThreadsCpu = Map<string, number>;

/**
 * One /proc/<pid>/stat line, if it is a kernel thread's (kthreadd, pid 2, or its child): its kind
 * (the name without an instance suffix: "kdamond.0", "ksoftirqd/1", "kworker/u8:1-events" give
 * kdamond, ksoftirqd, kworker) and its CPU so far, in clock ticks.
 */
export function parseKernelThreadStat(stat: string): { kind: string; ticks: number } | undefined {
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(stat.slice(0, open).trim());
  const fields = statFieldsAfterName(stat);
  const ppid = Number(fields[1]);
  if (pid !== 2 && ppid !== 2) return undefined;
  const ticks = Number(fields[11]) + Number(fields[12]);
  const kind = /^[A-Za-z_]+/.exec(stat.slice(open + 1, close))?.[0];
  return kind !== undefined && Number.isFinite(ticks) ? { kind, ticks } : undefined;
}

/** Clock ticks used so far by each kind of kernel thread; empty where /proc cannot be read. */
export function readKernelThreadsCpu(): KernelThreadsCpu {
  const byKind: KernelThreadsCpu = new Map();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return byKind;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone since the listing
    }
    const thread = parseKernelThreadStat(stat);
    if (thread) byKind.set(thread.kind, (byKind.get(thread.kind) ?? 0) + thread.ticks);
  }
  return byKind;
}

/** Cores used by kernel threads between two readings, in all and for the three busiest kinds. */
export function kernelThreadsBetween(before: KernelThreadsCpu, after: KernelThreadsCpu, wallSeconds: number, ticksPerSecond: number): { cores: number; busiest: Array<{ kind: string; cores: number }> } {
  const used: Array<{ kind: string; cores: number }> = [];
  for (const [kind, ticks] of after) {
    const delta = ticks - (before.get(kind) ?? 0);
    if (delta > 0) used.push({ kind, cores: delta / ticksPerSecond / wallSeconds });
  }
  used.sort((a, b) => b.cores - a.cores);
  return { cores: used.reduce((sum, { cores }) => sum + cores, 0), busiest: used.slice(0, 3) };
}
