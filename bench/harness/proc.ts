/**
 * A process's own CPU and memory from /proc (Linux): user + system time of all its threads, plus
 * that of its children once reaped (cutime + cstime: fping and ping count against the bot), and
 * its resident set now (VmRSS) and at peak (VmHWM).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks a second, the unit of the CPU times in /proc/<pid>/stat. */
export const CLOCK_TICKS = readClockTicks();

export interface ProcSample {
  /** When it was read, ms since the epoch. */
  at: number;
  /** utime + stime, seconds. */
  selfCpuSeconds: number;
  /** cutime + cstime of reaped children, seconds. */
  childCpuSeconds: number;
  rssBytes: number;
  peakRssBytes: number;
  threads: number;
}

/**
 * The fields of a /proc/<pid>/stat line after the ")" closing the command name, which may itself
 * hold spaces and parentheses: state is [0], ppid [1], utime [11], stime [12], cutime [13],
 * cstime [14] (fields 3, 4 and 14-17 of proc(5)).
 */
export function statFieldsAfterName(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Reads the process now; undefined once it is gone. */
export function readProc(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const fields = statFieldsAfterName(stat);
    const ticks = (i: number) => Number(fields[i]) / CLOCK_TICKS;
    return {
      at: Date.now(),
      selfCpuSeconds: ticks(11) + ticks(12),
      childCpuSeconds: ticks(13) + ticks(14),
      rssBytes: statusKib(status, 'VmRSS') * 1024,
      peakRssBytes: statusKib(status, 'VmHWM') * 1024,
      threads: statusKib(status, 'Threads'),
    };
  } catch {
    return undefined;
  }
}

/** CPU used between two samples, in cores (CPU seconds per wall second), and in CPU seconds. */
export function cpuBetween(from: ProcSample, to: ProcSample): { cores: number; seconds: number; childSeconds: number } {
  const seconds = to.selfCpuSeconds + to.childCpuSeconds - from.selfCpuSeconds - from.childCpuSeconds;
  const wall = (to.at - from.at) / 1000;
  return { cores: wall > 0 ? seconds / wall : Number.NaN, seconds, childSeconds: to.childCpuSeconds - from.childCpuSeconds };
}

/** Samples a process every `everyMs` until stopped, keeping the highest RSS seen. */
export class ProcSampler {
  readonly samples: ProcSample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly pid: number, private readonly everyMs = 500, private readonly maxSamples = 10_000) {}

  start(): this {
    this.take();
    this.timer = setInterval(() => this.take(), this.everyMs);
    return this;
  }

  /** Reads now (also recorded); throws when the process is gone, since every figure would be wrong. */
  take(): ProcSample {
    const sample = readProc(this.pid);
    if (!sample) throw new Error(`process ${this.pid} is gone`);
    if (this.samples.length < this.maxSamples) this.samples.push(sample);
    return sample;
  }

  /** Highest RSS among samples taken in [from, to]. */
  maxRssBetween(from: number, to: number): number {
    let max = 0;
    for (const sample of this.samples) if (sample.at >= from && sample.at <= to) max = Math.max(max, sample.rssBytes);
    return max;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

function statusKib(status: string, key: string): number {
  const match = new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status);
  return match ? Number(match[1]) : Number.NaN;
}

function readClockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}
