/**
 * What the Slack notifier remembers durably, under its own name in the MemoStore:
 *
 *   incident:<incidentId>    { channel, ts, target, inThread? }  the message (or thread) of an open incident
 *   open:<target>            { incidentId }                      the target's open incident, for its dependents
 *   message:<channel>:<ts>   { channel, ts, kind, lines }        what a posted message shows, to re-render it
 *
 * A message's memo goes when none of its targets is DOWN any more; an incident's at its recovery.
 */
import type { TargetLine } from '../../slack/blocks.js';
import type { Alert, AlertEvent, MemoStore } from '../notifier.js';
import { isDown, isRecovery } from '../summary.js';

export interface MessageRef {
  channel: string;
  /** The message, or the thread's parent for an incident kept in a thread. */
  ts: string;
}

export type IncidentRef = MessageRef & { target: string; inThread: boolean };

export class SlackMemos {
  constructor(private readonly store: MemoStore, private readonly notifier: string) {}

  incident(incidentId: string): IncidentRef | undefined {
    const memo = this.store.get(this.notifier, `incident:${incidentId}`);
    if (!memo || typeof memo.channel !== 'string' || typeof memo.ts !== 'string' || typeof memo.target !== 'string') return undefined;
    return { channel: memo.channel, ts: memo.ts, target: memo.target, inThread: memo.inThread === true };
  }

  /** The message of the target's open incident, where its dependents' replies go. */
  openMessageOf(target: string): IncidentRef | undefined {
    const open = this.store.get(this.notifier, `open:${target}`);
    return typeof open?.incidentId === 'string' ? this.incident(open.incidentId) : undefined;
  }

  message(ref: MessageRef): { kind: Alert['kind']; lines: TargetLine[] } | undefined {
    const memo = this.store.get(this.notifier, messageKey(ref));
    if (!memo || !Array.isArray(memo.lines)) return undefined;
    const kind = memo.kind === 'reminder' || memo.kind === 'test' ? memo.kind : 'transition';
    return { kind, lines: memo.lines as TargetLine[] };
  }

  /** After posting: the DOWN targets' incidents point at the message, folded dependents at its thread. */
  recordMessage(ref: MessageRef, kind: Alert['kind'], lines: TargetLine[], folded: AlertEvent[]): void {
    let anyDown = false;
    for (const line of lines) {
      if (line.state !== 'DOWN' || line.incidentId === undefined) continue;
      anyDown = true;
      this.openIncident(line.target, line.incidentId, ref, false);
    }
    for (const event of folded) if (event.incidentId !== undefined) this.openIncident(event.target, event.incidentId, ref, true);
    if (anyDown) this.store.set(this.notifier, messageKey(ref), { channel: ref.channel, ts: ref.ts, kind, lines });
  }

  saveLines(ref: MessageRef, lines: TargetLine[]): void {
    const memo = this.store.get(this.notifier, messageKey(ref));
    if (memo) this.store.set(this.notifier, messageKey(ref), { ...memo, lines });
  }

  /** The incident's line in its message shows this note from now on (an incident in a thread has no line). */
  acknowledge(incidentId: string, note: string): void {
    const ref = this.incident(incidentId);
    const stored = ref === undefined || ref.inThread ? undefined : this.message(ref);
    if (ref === undefined || stored === undefined) return;
    this.saveLines(ref, stored.lines.map((line) => (line.incidentId === incidentId ? { ...line, acknowledged: note } : line)));
  }

  /** After replying in a thread: dependents that went down there, and recoveries of those. */
  recordThreadIncidents(ref: MessageRef, events: AlertEvent[]): void {
    for (const event of events) {
      if (event.incidentId === undefined) continue;
      if (isDown(event)) this.openIncident(event.target, event.incidentId, ref, true);
      else if (isRecovery(event)) this.closeIncident(event.target, event.incidentId);
    }
  }

  /** After a recovery was shown: its incident is closed, and the message too once nothing in it is DOWN. */
  closeIncidents(ref: MessageRef, events: AlertEvent[]): void {
    for (const event of events) if (event.incidentId !== undefined) this.closeIncident(event.target, event.incidentId);
    const stored = this.message(ref);
    if (stored && !stored.lines.some((line) => line.state === 'DOWN')) this.store.delete(this.notifier, messageKey(ref));
  }

  /** The message was deleted in Slack: nothing can update it any more. */
  forgetMessage(ref: MessageRef, lines: TargetLine[]): void {
    for (const line of lines) if (line.incidentId !== undefined) this.closeIncident(line.target, line.incidentId);
    this.store.delete(this.notifier, messageKey(ref));
  }

  private openIncident(target: string, incidentId: string, ref: MessageRef, inThread: boolean): void {
    this.store.set(this.notifier, `incident:${incidentId}`, { channel: ref.channel, ts: ref.ts, target, ...(inThread ? { inThread: true } : {}) });
    this.store.set(this.notifier, `open:${target}`, { incidentId });
  }

  private closeIncident(target: string, incidentId: string): void {
    this.store.delete(this.notifier, `incident:${incidentId}`);
    if (this.store.get(this.notifier, `open:${target}`)?.incidentId === incidentId) this.store.delete(this.notifier, `open:${target}`);
  }
}

function messageKey(ref: MessageRef): string {
  return `message:${ref.channel}:${ref.ts}`;
}
