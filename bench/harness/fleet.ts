/** Many TCP targets across a few helper processes (a process holds at most `perProcess` listeners: fd limits). */
import { readFileSync } from 'node:fs';
import { tcpTargetHost } from './addresses.js';
import { Helper } from './helper.js';
import type { TcpFleetApi } from '../servers/tcp-fleet.js';

export interface Arrivals {
  /** The target index of each accepted connection. */
  indexes: Uint32Array;
  /** When it was accepted, ms since the epoch (sub-millisecond). */
  times: Float64Array;
  dropped: number;
  acceptErrors: number;
}

export class TcpFleet {
  private constructor(
    private readonly helpers: Array<{ helper: Helper<TcpFleetApi>; from: number; to: number }>,
    readonly port: number,
    readonly size: number,
  ) {}

  static async start(size: number, perProcess = listenersPerProcess()): Promise<TcpFleet> {
    const processes = Math.max(1, Math.ceil(size / perProcess));
    const helpers: Array<{ helper: Helper<TcpFleetApi>; from: number; to: number }> = [];
    try {
      for (let p = 0; p < processes; p++) {
        const from = Math.floor((p * size) / processes);
        const to = Math.floor(((p + 1) * size) / processes);
        helpers.push({ helper: await Helper.start<TcpFleetApi>('tcp-fleet.ts', `tcp-fleet-${p}`), from, to });
      }
      let port = 0;
      for (const { helper, from, to } of helpers) {
        const targets = Array.from({ length: to - from }, (_, i) => ({ index: from + i, host: tcpTargetHost(from + i) }));
        port = (await helper.call('listen', { targets, port })).port;
      }
      return new TcpFleet(helpers, port, size);
    } catch (error) {
      await Promise.all(helpers.map(({ helper }) => helper.stop()));
      throw error;
    }
  }

  host(index: number): string {
    return tcpTargetHost(index);
  }

  get pids(): number[] {
    return this.helpers.map(({ helper }) => helper.pid);
  }

  async close(indexes: number[]): Promise<number> {
    const counts = await Promise.all(this.helpers.map(({ helper, from, to }) => helper.call('close', { indexes: indexes.filter((i) => i >= from && i < to) })));
    return counts.reduce((a, b) => a + b, 0);
  }

  async reopen(indexes: number[]): Promise<number> {
    const counts = await Promise.all(this.helpers.map(({ helper, from, to }) => helper.call('reopen', { indexes: indexes.filter((i) => i >= from && i < to) })));
    return counts.reduce((a, b) => a + b, 0);
  }

  async count(): Promise<number> {
    const counts = await Promise.all(this.helpers.map(({ helper }) => helper.call('count', {} as never)));
    return counts.reduce((a, b) => a + b, 0);
  }

  /** Every arrival so far, from all processes; `clear` starts afresh. */
  async arrivals(clear = false): Promise<Arrivals> {
    const parts = await Promise.all(this.helpers.map(({ helper }) => helper.call('arrivals', { clear })));
    const total = parts.reduce((sum, part) => sum + part.indexes.length, 0);
    const merged: Arrivals = { indexes: new Uint32Array(total), times: new Float64Array(total), dropped: 0, acceptErrors: 0 };
    let offset = 0;
    for (const part of parts) {
      merged.indexes.set(part.indexes, offset);
      merged.times.set(part.times, offset);
      offset += part.indexes.length;
      merged.dropped += part.dropped;
      merged.acceptErrors += part.acceptErrors;
    }
    return merged;
  }

  async stop(): Promise<void> {
    await Promise.all(this.helpers.map(({ helper }) => helper.stop()));
  }
}

/** 6,000, or fewer when the open-file limit (Node raises its soft limit to the hard one) is low. */
function listenersPerProcess(): number {
  const limit = Number(/^Max open files\s+\d+\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1]);
  return Number.isFinite(limit) ? Math.max(100, Math.min(6_000, limit - 200)) : 6_000;
}
