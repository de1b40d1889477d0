import type { Target } from '../config/schema.js';
import type { TransitionEvent } from '../monitor/types.js';

/** Where the core sends transition events; the alert delivery engine implements it. */
export interface AlertSink {
  /** Takes events for delivery. Must not throw or block the probe loop. */
  publish(events: readonly TransitionEvent[], target: Target): void;
  /** Stops delivery, keeping undelivered alerts for the next start. */
  stop(): Promise<void>;
}
