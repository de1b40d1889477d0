/**
 * A helper process (target servers, receivers, load generators) driven over IPC. Helpers run in
 * processes of their own so that the bot's CPU and memory, read from /proc, are the bot's alone.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { stopChild } from './stop-child.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Api } from '../servers/rpc.js';

const CALL_TIMEOUT_MS = 120_000;
const START_TIMEOUT_MS = 30_000;

type Result<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;
type Args<F> = F extends (args: infer A) => unknown ? A : never;

export class Helper<T extends Api> {
  /** Where bundled helpers are (harness/build.ts); without it they run from source under tsx. */
  static bundledDir: string | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void; timer: NodeJS.Timeout }>();

  private constructor(readonly name: string, private readonly child: ChildProcess) {
    child.on('message', (message: { id?: number; result?: unknown; error?: string }) => {
      const call = message.id === undefined ? undefined : this.pending.get(message.id);
      if (!call) return;
      this.pending.delete(message.id!);
      clearTimeout(call.timer);
      if (message.error !== undefined) call.reject(new Error(`${name}: ${message.error}`));
      else call.resolve(message.result);
    });
    child.on('exit', (code, signal) => {
      for (const call of this.pending.values()) {
        clearTimeout(call.timer);
        call.reject(new Error(`${name} exited (${signal ?? code}) during a call`));
      }
      this.pending.clear();
    });
  }

  /** Starts bench/servers/<script> under tsx and waits until it says it is ready. */
  static async start<T extends Api>(script: string, name = script): Promise<Helper<T>> {
    const bundled = Helper.bundledDir === undefined ? undefined : join(Helper.bundledDir, script.replace(/\.ts$/, '.js'));
    const path = bundled ?? fileURLToPath(new URL(`../servers/${script}`, import.meta.url));
    const child = fork(path, [], {
      execArgv: bundled ? [] : ['--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      child.on('message', function onReady(message: { ready?: boolean }) {
        if (!message.ready) return;
        clearTimeout(timer);
        child.off('message', onReady);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited with ${code} while starting`));
      });
    });
    await ready;
    return new Helper<T>(name, child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  call<K extends keyof T & string>(method: K, args: Args<T[K]>, timeoutMs = CALL_TIMEOUT_MS): Promise<Result<T[K]>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}.${method} gave no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.child.send({ id, method, args });
    });
  }

  /** Asks it to exit, then kills it if it has not within 5 s. */
  stop(): Promise<void> {
    return stopChild(this.child);
  }
}
