/** Events, alerts, an in-memory MemoStore and a log capture for the notifier tests. */
import { Writable } from 'node:stream';
import type { Alert, AlertEvent, MemoStore } from '../../../src/alerts/notifier.js';
import { createLogger, type Logger } from '../../../src/log.js';

export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

let counter = 0;
const nextId = (prefix: string) => `${prefix}-${++counter}`;

export function downEvent(target: string, overrides: Partial<AlertEvent> = {}): AlertEvent {
  return {
    id: nextId('evt'),
    target,
    kind: 'state',
    from: 'UP',
    to: 'DOWN',
    at: T0,
    result: { ok: false, latencyMs: 12, at: T0, error: 'connect ECONNREFUSED 127.0.0.1:5432' },
    reason: '3 consecutive failures: connect ECONNREFUSED 127.0.0.1:5432',
    incidentId: `inc-${target}`,
    targetType: 'tcp',
    address: '127.0.0.1:5432',
    labels: { team: 'core' },
    ...overrides,
  };
}

export function upEvent(target: string, overrides: Partial<AlertEvent> = {}): AlertEvent {
  return {
    id: nextId('evt'),
    target,
    kind: 'state',
    from: 'DOWN',
    to: 'UP',
    at: T0 + 300_000,
    result: { ok: true, latencyMs: 3, at: T0 + 300_000 },
    reason: '2 consecutive successes',
    incidentId: `inc-${target}`,
    downForMs: 300_000,
    targetType: 'tcp',
    address: '127.0.0.1:5432',
    labels: { team: 'core' },
    ...overrides,
  };
}

export function alertOf(events: AlertEvent[], overrides: Partial<Alert> = {}): Alert {
  return { id: nextId('alert'), notifier: 'test', createdAt: events[0]?.at ?? T0, kind: 'transition', events, ...overrides };
}

export class MemoryMemos implements MemoStore {
  readonly entries = new Map<string, Record<string, unknown>>();

  get(notifier: string, key: string): Record<string, unknown> | undefined {
    const memo = this.entries.get(`${notifier}\u0000${key}`);
    return memo === undefined ? undefined : structuredClone(memo);
  }

  set(notifier: string, key: string, memo: Record<string, unknown>): void {
    this.entries.set(`${notifier}\u0000${key}`, JSON.parse(JSON.stringify(memo)) as Record<string, unknown>);
  }

  delete(notifier: string, key: string): void {
    this.entries.delete(`${notifier}\u0000${key}`);
  }

  keys(notifier: string): string[] {
    return [...this.entries.keys()].filter((k) => k.startsWith(`${notifier}\u0000`)).map((k) => k.slice(notifier.length + 1));
  }
}

/** A real pino logger at debug level whose lines the test can read. */
export function captureLogs(): { logger: Logger; text(): string; lines(): Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ level: 'debug', pretty: false, destination });
  const text = () => chunks.join('');
  return { logger, text, lines: () => text().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

export const never = new AbortController().signal;
