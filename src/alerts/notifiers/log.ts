/** The log notifier: one structured line per event, always on, never fails. */
import type { Logger } from '../../log.js';
import type { Alert, AlertEvent, DeliveryOutcome, Notifier } from '../notifier.js';
import { eventSummary, isRecovery } from '../summary.js';

export function createLogNotifier(name: string, logger: Logger): Notifier {
  return {
    name,
    type: 'log',
    // Grouping would only delay the lines; each event is its own line anyway.
    groupsEvents: false,
    deliver(alert: Alert): Promise<DeliveryOutcome> {
      for (const event of alert.events) writeEventLine(logger, name, alert, event);
      return Promise.resolve({ status: 'delivered' });
    },
  };
}

function writeEventLine(logger: Logger, notifier: string, alert: Alert, event: AlertEvent): void {
  const fields: Record<string, unknown> = {
    notifier,
    target: event.target,
    kind: event.kind,
    from: event.from,
    to: event.to,
    at: new Date(event.at).toISOString(),
    reason: event.reason,
    error: event.result.error,
    latencyMs: event.result.latencyMs,
    incidentId: event.incidentId,
  };
  if (alert.kind !== 'transition') fields.alert = alert.kind;
  if (event.downForMs !== undefined) fields.downForMs = event.downForMs;
  if (event.suppressedBy !== undefined) fields.suppressedBy = event.suppressedBy;
  if (event.dependents !== undefined && event.dependents.length > 0) fields.dependents = event.dependents;
  const prefix = alert.kind === 'test' ? '[TEST] ' : alert.kind === 'reminder' ? 'Reminder: ' : '';
  const message = prefix + eventSummary(event);
  if (isRecovery(event)) logger.info(fields, message);
  else logger.warn(fields, message);
}
