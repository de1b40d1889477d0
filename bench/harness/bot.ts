/**
 * The bot under test: the real CLI (`probebot run -c rules.yaml`, compiled as it ships) in a
 * process of its own, its log in a file. Started means it logged "probebot started".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface BotStartOptions {
  cliPath: string;
  configPath: string;
  logPath: string;
  /** Default info: transitions only. */
  logLevel?: string;
  /** Writes a V8 CPU profile (node --cpu-prof) here when the bot exits. */
  cpuProfileDir?: string;
  startTimeoutMs?: number;
  cwd?: string;
}

export interface LogLine {
  level: number;
  time: number;
  msg: string;
  [field: string]: unknown;
}

export class BotProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly logPath: string,
    /** When the process was spawned, ms since the epoch. */
    readonly spawnedAt: number,
    /** When it logged "probebot started", ms since the epoch (pino's time). */
    readonly readyAt: number,
    readonly port: number,
  ) {}

  static async start(options: BotStartOptions): Promise<BotProcess> {
    const nodeArgs = options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir] : [];
    const args = [...nodeArgs, options.cliPath, 'run', '-c', options.configPath, '--log-level', options.logLevel ?? 'info'];
    const fd = openSync(options.logPath, 'w');
    const spawnedAt = Date.now();
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, args, { stdio: ['ignore', fd, fd], cwd: options.cwd ?? process.cwd(), env: { ...process.env, NODE_ENV: 'production' } });
    } finally {
      closeSync(fd);
    }
    const deadline = Date.now() + (options.startTimeoutMs ?? 120_000);
    for (;;) {
      const started = (await readLog(options.logPath)).find((line) => line.msg === 'probebot started');
      if (started) return new BotProcess(child, options.logPath, spawnedAt, started.time, Number(started.port));
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        const tail = (await readFile(options.logPath, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
        throw new Error(`the bot did not start (${child.exitCode ?? child.signalCode ?? 'timeout'}); its log ends:\n${tail}`);
      }
      await sleep(20);
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  logLines(): Promise<LogLine[]> {
    return readLog(this.logPath);
  }

  /** SIGTERM, as an operator would; SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }> {
    if (!this.running) return { code: this.child.exitCode, signal: this.child.signalCode, killed: false };
    const exited = once(this.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    this.child.kill('SIGTERM');
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      this.child.kill('SIGKILL');
    }, graceMs);
    const [code, signal] = await exited;
    clearTimeout(timer);
    return { code, signal, killed };
  }
}

export async function readLog(path: string): Promise<LogLine[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const lines: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(line) as LogLine);
    } catch {
      // a line being written right now
    }
  }
  return lines;
}
