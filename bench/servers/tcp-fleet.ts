/**
 * A helper process holding TCP listeners, one per target, each on its own loopback address. It
 * notes when each connection arrives (wall clock, sub-millisecond) and closes it at once, so the
 * bench can count executed probes and compare their start with each target's schedule.
 */
import { createServer, type Server } from 'node:net';
import { serve } from './rpc.js';

const MAX_ARRIVALS = 4_000_000;
const LISTEN_BATCH = 500;

interface Listener {
  host: string;
  port: number;
  server: Server | undefined;
}

const listeners = new Map<number, Listener>();
let indexes = new Uint32Array(1 << 16);
let times = new Float64Array(1 << 16);
let count = 0;
let dropped = 0;
let acceptErrors = 0;

const wallNow = (): number => performance.timeOrigin + performance.now();

function record(index: number): void {
  if (count === indexes.length) {
    if (count >= MAX_ARRIVALS) return void dropped++;
    const grownIndexes = new Uint32Array(Math.min(MAX_ARRIVALS, count * 2));
    grownIndexes.set(indexes);
    const grownTimes = new Float64Array(grownIndexes.length);
    grownTimes.set(times);
    indexes = grownIndexes;
    times = grownTimes;
  }
  indexes[count] = index;
  times[count] = wallNow();
  count++;
}

function open(index: number, listener: Listener): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer({ pauseOnConnect: true }, (socket) => {
      record(index);
      socket.on('error', () => {});
      socket.destroy();
    });
    server.once('error', reject);
    server.listen({ host: listener.host, port: listener.port, backlog: 511 }, () => {
      server.off('error', reject);
      server.on('error', () => void acceptErrors++);
      listener.server = server;
      resolve((server.address() as { port: number }).port);
    });
  });
}

function close(listener: Listener): Promise<void> {
  const server = listener.server;
  listener.server = undefined;
  return server ? new Promise((resolve) => server.close(() => resolve())) : Promise.resolve();
}

async function inBatches<T>(items: T[], work: (item: T) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < items.length; start += LISTEN_BATCH) await Promise.all(items.slice(start, start + LISTEN_BATCH).map(work));
}

const api = {
  /** Listens for these targets on `port` (0: the first picks a free port that all then share). */
  async listen(args: { targets: Array<{ index: number; host: string }>; port: number }): Promise<{ port: number }> {
    let port = args.port;
    const [first, ...rest] = args.targets;
    if (!first) return { port };
    const firstListener: Listener = { host: first.host, port, server: undefined };
    port = await open(first.index, firstListener);
    firstListener.port = port;
    listeners.set(first.index, firstListener);
    await inBatches(rest, async (target) => {
      const listener: Listener = { host: target.host, port, server: undefined };
      listeners.set(target.index, listener);
      await open(target.index, listener);
    });
    return { port };
  },
  /** Stops listening for these targets: their connects are refused. */
  async close(args: { indexes: number[] }): Promise<number> {
    const chosen = args.indexes.flatMap((index) => listeners.get(index) ?? []);
    await Promise.all(chosen.map(close));
    return chosen.length;
  },
  /** Listens again for targets closed before. */
  async reopen(args: { indexes: number[] }): Promise<number> {
    const chosen = args.indexes.flatMap((index) => {
      const listener = listeners.get(index);
      return listener && !listener.server ? [[index, listener] as const] : [];
    });
    await inBatches(chosen, ([index, listener]) => open(index, listener));
    return chosen.length;
  },
  arrivals(args: { clear?: boolean }): { indexes: Uint32Array; times: Float64Array; dropped: number; acceptErrors: number } {
    const result = { indexes: indexes.slice(0, count), times: times.slice(0, count), dropped, acceptErrors };
    if (args.clear) count = dropped = 0;
    return result;
  },
  count(): number {
    return count;
  },
};

export type TcpFleetApi = typeof api;

serve(api, async () => {
  await Promise.all([...listeners.values()].map(close));
});
