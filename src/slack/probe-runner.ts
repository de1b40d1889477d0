/**
 * Probes asked for in Slack: a configured target by name, or an address through the ad-hoc
 * guard. At most `maxConcurrent` run at once for all Slack users together, so a burst of
 * commands queues here instead of crowding out the scheduled probes (the port enforces the
 * bot's overall probe concurrency on top of this).
 */
import type { Target } from '../config/schema.js';
import type { AdhocGuard } from './adhoc-guard.js';
import type { SlackBotPort } from './port.js';
import type { ProbeOutcome } from './responses.js';

export class ProbeRunner {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  /** Targets by name, built once per target list (the list is replaced on a reload). */
  private readonly indexes = new WeakMap<readonly Target[], Map<string, Target>>();

  constructor(
    private readonly port: SlackBotPort,
    private readonly guard: AdhocGuard,
    readonly maxConcurrent: number,
  ) {}

  /** Every input at once (each waits for a slot); refused inputs open no connection. */
  probeInputs(inputs: readonly string[], signal: AbortSignal): Promise<ProbeOutcome[]> {
    const list = this.port.targets();
    let targets = this.indexes.get(list);
    if (targets === undefined) {
      // Rebuilding this for every command cost ~4 ms at 10,000 targets, on the path of the next acks.
      targets = new Map(list.map((target) => [target.name, target]));
      this.indexes.set(list, targets);
    }
    return Promise.all(inputs.map((input) => {
      const target = targets.get(input.toLowerCase());
      return target === undefined ? this.probeAddress(input, signal) : this.probeTarget(target, signal);
    }));
  }

  async probeTarget(target: Target, signal: AbortSignal): Promise<ProbeOutcome> {
    const result = await this.withSlot(signal, () => this.port.probe(target, signal));
    return { kind: 'configured', target, result, status: this.port.statusOf(target.name) };
  }

  private async probeAddress(input: string, signal: AbortSignal): Promise<ProbeOutcome> {
    if (!this.guard.enabled) {
      // Most often a mistyped target name: say that first.
      return { kind: 'refused', input, reason: 'No configured target has this name, and ad-hoc probes of addresses are off (whoever runs probebot can allow some with slack.adhoc.allow).' };
    }
    const check = await this.guard.check(input, signal);
    if (!check.ok) return { kind: 'refused', input, reason: check.reason };
    const result = await this.withSlot(signal, () => this.port.probe(check.target, signal));
    return { kind: 'adhoc', shown: check.shown, connectTo: check.connectTo, targetType: check.target.type, result, notes: check.notes };
  }

  private async withSlot<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
    while (this.running >= this.maxConcurrent) {
      signal.throwIfAborted();
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal.removeEventListener('abort', wake);
          const index = this.waiting.indexOf(wake);
          if (index >= 0) this.waiting.splice(index, 1);
          resolve();
        };
        this.waiting.push(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
    signal.throwIfAborted();
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      this.waiting[0]?.();
    }
  }
}
