/**
 * Checks that span fields: names that must refer to something defined elsewhere, dependency
 * cycles, cron expressions. They read the plain parsed data, so they run (and report) alongside
 * the schema's errors even when some values are malformed.
 */
import { Cron } from 'croner';
import { checkWebhookTemplate } from '../alerts/notifiers/webhook-template.js';
import { loadSecureContext, TlsFileError, tlsFilesKey, type TlsFiles } from '../probes/tls-files.js';
import { isTimeZone } from '../scheduler/cron.js';
import { didYouMean, formatPath, type ConfigPath, type ConfigProblem } from './errors.js';

type Entries = Record<string, unknown>;

export function crossFieldProblems(data: unknown): ConfigProblem[] {
  const config = asRecord(data) ?? {};
  const targets = asList(config['targets']).map((target) => asRecord(target) ?? {});
  const names = firstIndexByName(targets);
  const cron = new CronChecker();
  return [
    ...duplicateNames(targets, names),
    ...unknownNotifiers(config),
    ...dependencyProblems(targets, names),
    ...scheduleProblems(config, targets, cron),
    ...maintenanceProblems(config, names, cron),
    ...slackWithoutSection(config),
    ...webhookTemplateProblems(config),
    ...tlsFileProblems(targets),
  ];
}

function firstIndexByName(targets: Entries[]): Map<string, number> {
  const names = new Map<string, number>();
  targets.forEach((target, index) => {
    const name = target['name'];
    if (typeof name === 'string' && !names.has(name)) names.set(name, index);
  });
  return names;
}

function duplicateNames(targets: Entries[], names: Map<string, number>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  targets.forEach((target, index) => {
    const name = target['name'];
    const first = typeof name === 'string' ? names.get(name) : undefined;
    if (first !== undefined && first !== index) {
      problems.push({ path: ['targets', index, 'name'], message: `duplicate target name "${String(name)}" (first used by ${formatPath(['targets', first])})` });
    }
  });
  return problems;
}

function unknownNotifiers(config: Entries): ConfigProblem[] {
  // "log" always exists: resolveConfig adds it.
  const known = new Set(['log', ...Object.keys(asRecord(config['notifiers']) ?? {})]);
  const lists: Array<[ConfigPath, unknown]> = [[['defaults', 'notify'], asRecord(config['defaults'])?.['notify']]];
  asList(config['targets']).forEach((target, index) => lists.push([['targets', index, 'notify'], asRecord(target)?.['notify']]));
  asList(config['routes']).forEach((route, index) => lists.push([['routes', index, 'notify'], asRecord(route)?.['notify']]));
  const problems: ConfigProblem[] = [];
  for (const [path, list] of lists) {
    asList(list).forEach((name, index) => {
      if (typeof name !== 'string' || name === '' || known.has(name)) return;
      const hint = didYouMean(name, known) || ` (defined: ${listed([...known])})`;
      problems.push({ path: [...path, index], message: `unknown notifier "${name}"${hint}` });
    });
  }
  return problems;
}

function dependencyProblems(targets: Entries[], names: Map<string, number>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  // Edges between known targets, by index of the first target of each name.
  const edges = targets.map(() => [] as Array<{ to: number; entry: number }>);
  targets.forEach((target, index) => {
    const isFirstOfName = names.get(String(target['name'])) === index;
    asList(target['dependsOn']).forEach((dependency, entry) => {
      if (typeof dependency !== 'string' || dependency === '') return;
      const path = ['targets', index, 'dependsOn', entry];
      const to = names.get(dependency);
      if (dependency === target['name']) problems.push({ path, message: 'a target cannot depend on itself' });
      else if (to === undefined) problems.push({ path, message: `unknown target "${dependency}"${didYouMean(dependency, names.keys())}` });
      else if (isFirstOfName) edges[index]!.push({ to, entry });
    });
  });
  for (const cycle of findCycles(edges)) {
    const loop = [...cycle.members, cycle.members[0]!].map((index) => String(targets[index]!['name']));
    problems.push({ path: ['targets', cycle.members[0]!, 'dependsOn', cycle.entry], message: `dependency cycle: ${loop.join(' -> ')}` });
  }
  return problems;
}

interface Cycle {
  /** Target indexes around the loop, starting at the one whose dependsOn entry closes it. */
  members: number[];
  entry: number;
}

/** Depth-first in file order, without recursion (a chain of 10,000 targets must not overflow). */
function findCycles(edges: Array<Array<{ to: number; entry: number }>>): Cycle[] {
  const state = new Uint8Array(edges.length); // 0 unvisited, 1 on the current path, 2 done
  const cycles: Cycle[] = [];
  for (let root = 0; root < edges.length; root++) {
    if (state[root] !== 0) continue;
    const path: Array<{ node: number; next: number }> = [{ node: root, next: 0 }];
    state[root] = 1;
    while (path.length > 0) {
      const frame = path[path.length - 1]!;
      const edge = edges[frame.node]![frame.next++];
      if (edge === undefined) {
        state[frame.node] = 2;
        path.pop();
      } else if (state[edge.to] === 0) {
        state[edge.to] = 1;
        path.push({ node: edge.to, next: 0 });
      } else if (state[edge.to] === 1) {
        const start = path.findIndex((step) => step.node === edge.to);
        const loop = path.slice(start).map((step) => step.node);
        cycles.push({ members: [frame.node, ...loop.slice(0, -1)], entry: edge.entry });
      }
    }
  }
  return cycles;
}

function scheduleProblems(config: Entries, targets: Entries[], cron: CronChecker): ConfigProblem[] {
  const defaults = asRecord(config['defaults']) ?? {};
  const owners: Array<[ConfigPath, Entries]> = [[['defaults'], defaults]];
  targets.forEach((target, index) => owners.push([['targets', index], target]));
  const problems: ConfigProblem[] = [];
  for (const [path, owner] of owners) {
    problems.push(...timezoneProblems(path, owner['timezone'], cron));
    const isTarget = path[0] === 'targets';
    const scheduled = owner['schedule'] !== undefined || (isTarget && owner['interval'] === undefined && defaults['schedule'] !== undefined);
    if (isTarget && owner['timezone'] !== undefined && !scheduled) {
      problems.push({ path: [...path, 'timezone'], message: 'a time zone applies to a schedule, and this target has none (it runs on interval)' });
    }
    const schedule = owner['schedule'];
    if (schedule === undefined) continue;
    if (owner['interval'] !== undefined) problems.push({ path: [...path, 'schedule'], message: 'set either interval or schedule, not both' });
    const message = cron.problem(schedule);
    if (message) problems.push({ path: [...path, 'schedule'], message });
  }
  return problems;
}

function maintenanceProblems(config: Entries, names: Map<string, number>, cron: CronChecker): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  asList(config['maintenance']).forEach((window, index) => {
    const entries = asRecord(window) ?? {};
    const message = cron.problem(entries['schedule']);
    if (message) problems.push({ path: ['maintenance', index, 'schedule'], message });
    problems.push(...timezoneProblems(['maintenance', index], entries['timezone'], cron));
    asList(entries['targets']).forEach((name, entry) => {
      if (typeof name === 'string' && name !== '' && !names.has(name)) {
        problems.push({ path: ['maintenance', index, 'targets', entry], message: `unknown target "${name}"${didYouMean(name, names.keys())}` });
      }
    });
  });
  return problems;
}

function slackWithoutSection(config: Entries): ConfigProblem[] {
  if (config['slack'] !== undefined) return [];
  return Object.entries(asRecord(config['notifiers']) ?? {})
    .filter(([, notifier]) => asRecord(notifier)?.['type'] === 'slack')
    .map(([name]) => ({ path: ['notifiers', name, 'type'], message: 'a slack notifier needs a top-level "slack:" section with botToken' }));
}

/** A webhook template that cannot produce JSON would fail every delivery: refused at load instead. */
function webhookTemplateProblems(config: Entries): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [name, notifier] of Object.entries(asRecord(config['notifiers']) ?? {})) {
    const fields = asRecord(notifier);
    const template = fields?.['template'];
    if (fields?.['type'] !== 'webhook' || typeof template !== 'string') continue;
    const problem = checkWebhookTemplate(template);
    if (problem !== undefined) problems.push({ path: ['notifiers', name, 'template'], message: problem });
  }
  return problems;
}

function timezoneProblems(path: ConfigPath, timezone: unknown, cron: CronChecker): ConfigProblem[] {
  if (typeof timezone !== 'string' || timezone === '' || cron.knowsZone(timezone)) return []; // the schema reports non-strings
  return [{ path: [...path, 'timezone'], message: `unknown time zone "${timezone}": use an IANA name such as "Europe/Paris" or "UTC"` }];
}

/**
 * Validates cron expressions with croner itself, once per distinct expression (croner 11 objects
 * are large), and time zones once per distinct name (10,000 targets may all name one).
 */
class CronChecker {
  private readonly seen = new Map<string, string | undefined>();
  private readonly zones = new Map<string, boolean>();

  knowsZone(timezone: string): boolean {
    let known = this.zones.get(timezone);
    if (known === undefined) {
      known = isTimeZone(timezone);
      this.zones.set(timezone, known);
    }
    return known;
  }

  problem(pattern: unknown): string | undefined {
    if (typeof pattern !== 'string' || pattern.trim() === '') return undefined; // the schema reports these
    if (!this.seen.has(pattern)) this.seen.set(pattern, cronProblem(pattern));
    return this.seen.get(pattern);
  }
}

const FIELD_MAXIMUM: Record<number, number[]> = {
  5: [59, 23, 31, 12, 7],
  6: [59, 59, 23, 31, 12, 7],
  7: [59, 59, 23, 31, 12, 7, 9999],
};

function cronProblem(pattern: string): string | undefined {
  const numericStep = numericStepHint(pattern);
  if (numericStep) return `invalid cron expression "${pattern}": ${numericStep}`;
  try {
    const job = new Cron(pattern, { paused: true });
    const next = job.nextRun();
    job.stop();
    return next === null ? `cron expression "${pattern}" never matches a date` : undefined;
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^CronPattern:\s*/, '') : String(error);
    return `invalid cron expression "${pattern}": ${reason}`;
  }
}

/** croner 11 rejects `0/10`; say what to write instead, with the field's real range. */
function numericStepHint(pattern: string): string | undefined {
  const fields = pattern.trim().split(/\s+/);
  const maxima = FIELD_MAXIMUM[fields.length];
  if (!maxima) return undefined;
  for (const [index, field] of fields.entries()) {
    for (const part of field.split(',')) {
      const match = /^(\d+)\/(\d+)$/.exec(part);
      if (match) return `write ${match[1]}-${maxima[index]}/${match[2]} or */${match[2]} instead of ${part} (croner needs a range or * before a step)`;
    }
  }
  return undefined;
}

/**
 * caFile, certFile and keyFile must be readable PEM that makes a TLS context, and a client
 * certificate comes with its key. Each distinct set of files is read once.
 */
function tlsFileProblems(targets: Entries[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const verdicts = new Map<string, TlsFileError | undefined>();
  targets.forEach((target, index) => {
    if (target['caFile'] === undefined && target['certFile'] === undefined && target['keyFile'] === undefined) return;
    const files: TlsFiles = {};
    for (const field of ['caFile', 'certFile', 'keyFile'] as const) {
      const path = target[field];
      if (typeof path === 'string' && path !== '') files[field] = path; // the schema reports the rest
    }
    if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
      const [present, missing] = files.certFile === undefined ? ['keyFile', 'certFile'] : ['certFile', 'keyFile'];
      problems.push({ path: ['targets', index, present], message: `needs ${missing} too: a client certificate is sent with its private key` });
      return;
    }
    const key = tlsFilesKey(files);
    if (!verdicts.has(key)) verdicts.set(key, tlsFilesProblem(files));
    const problem = verdicts.get(key);
    if (problem !== undefined) problems.push({ path: ['targets', index, problem.field], message: `${problem.file} ${problem.problem}` });
  });
  return problems;
}

function tlsFilesProblem(files: TlsFiles): TlsFileError | undefined {
  try {
    loadSecureContext(files);
    return undefined;
  } catch (error) {
    if (error instanceof TlsFileError) return error;
    throw error;
  }
}

function listed(names: string[]): string {
  return names.length > 10 ? `${names.slice(0, 10).join(', ')}, …` : names.join(', ');
}

function asRecord(value: unknown): Entries | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Entries) : undefined;
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
