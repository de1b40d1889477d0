/** What the numbers were measured on: they move between machines; ratios in one run hold. */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';

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
