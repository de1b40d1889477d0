/** The probe registry: one function per target type; adding a type adds a file and a line here. */
import type { Target, TargetType } from '../config/schema.js';
import type { Logger } from '../log.js';
import { probeDns } from './dns.js';
import { loadHttpClient, probeHttp } from './http.js';
import { createIcmpProbe, detectIcmpTools, icmpToolsProblem, type IcmpTools } from './icmp.js';
import { probeTcp } from './tcp.js';
import { probeTls } from './tls.js';
import { checkLatency, deadlineReason, type Probe, type ProbeResult } from './types.js';

export { detectIcmpTools, icmpToolsProblem, type IcmpTools };

export interface ProbeRegistry {
  /** Runs the target's probe under the caller's signal (which carries the deadline). */
  run(target: Target, signal: AbortSignal): Promise<ProbeResult>;
  /** Runs it with its own deadline of target.timeout, joined with an optional caller signal. */
  runWithDeadline(target: Target, signal?: AbortSignal): Promise<ProbeResult>;
  /** Kills children and releases what the probes hold. */
  close(): void;
}

/**
 * Loads what these targets' probes import lazily (undici, for HTTP), so the first probe's
 * deadline is not spent loading a module. Call it before scheduling targets.
 */
export async function prepareProbes(targets: Iterable<Target>): Promise<void> {
  for (const target of targets) {
    if (target.type === 'http') {
      await loadHttpClient();
      return;
    }
  }
}

export function createProbes(options: { icmp: IcmpTools; logger: Logger }): ProbeRegistry {
  const icmp = createIcmpProbe({ fpingPath: options.icmp.fping, pingPath: options.icmp.ping, logger: options.logger });
  const probes = {
    http: probeHttp,
    tcp: probeTcp,
    icmp: icmp.probe,
    dns: probeDns,
    tls: probeTls,
  } satisfies { [K in TargetType]: Probe<Extract<Target, { type: K }>> };

  const run = async (target: Target, signal: AbortSignal): Promise<ProbeResult> => {
    const started = Date.now();
    try {
      const result = await (probes[target.type] as Probe)(target, signal);
      const overBudget = result.ok ? checkLatency(result.latencyMs, target.expect?.maxLatency) : undefined;
      return overBudget === undefined ? result : { ...result, ok: false, error: overBudget };
    } catch (error) {
      // A probe should never throw; if one does, it is a failed probe, not a crashed bot.
      options.logger.error({ target: target.name, err: error }, 'probe threw');
      return { ok: false, at: started, latencyMs: Date.now() - started, error: `internal error: ${(error as Error).message}` };
    }
  };

  return {
    run,
    runWithDeadline(target, signal) {
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(deadlineReason(target.timeout)), target.timeout);
      const joined = signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal;
      return run(target, joined).finally(() => clearTimeout(timer));
    },
    close: () => icmp.close(),
  };
}
