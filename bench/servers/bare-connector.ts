/**
 * The reference the bot is held against: a bare Node loop that only does the connects, on the
 * same grid as the bot's scheduler (same phases, drift-corrected setTimeout per target), and
 * nothing else: no state, no store, no logging.
 */
import { connect } from 'node:net';
import { nextGridPoint, phaseOffset } from '../../src/scheduler/phase.js';
import { serve } from './rpc.js';

const timers = new Set<NodeJS.Timeout>();
let running = false;

function schedule(host: string, port: number, intervalMs: number, phase: number, after: number): void {
  const due = nextGridPoint(after, intervalMs, phase);
  const timer = setTimeout(() => {
    timers.delete(timer);
    if (!running) return;
    const socket = connect({ host, port });
    socket.once('connect', () => socket.destroy());
    socket.once('error', () => socket.destroy());
    schedule(host, port, intervalMs, phase, due);
  }, Math.max(0, due - Date.now()));
  timers.add(timer);
}

const api = {
  start(args: { targets: Array<{ name: string; host: string; port: number }>; intervalMs: number }): number {
    running = true;
    const now = Date.now();
    for (const target of args.targets) schedule(target.host, target.port, args.intervalMs, phaseOffset(target.name, args.intervalMs), now);
    return timers.size;
  },
  stop(): void {
    running = false;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
  },
};

export type BareConnectorApi = typeof api;

serve(api, () => api.stop());
