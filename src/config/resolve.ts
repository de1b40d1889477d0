import { BUILTIN_DEFAULTS, type Config, type RawConfig, type RawTarget, type Target } from './schema.js';

/** Fills every target's unset settings from `defaults`, then from the built-in defaults. */
export function resolveConfig(raw: RawConfig): Config {
  const { defaults, targets, ...rest } = raw;
  const notifiers = { log: { type: 'log' as const }, ...rest.notifiers };
  return { ...rest, notifiers, targets: targets.map((target) => resolveTarget(target, defaults)) };
}

export function resolveTarget(target: RawTarget, defaults: RawConfig['defaults']): Target {
  const pick = <K extends keyof typeof BUILTIN_DEFAULTS>(key: K) =>
    (target[key] ?? defaults[key] ?? BUILTIN_DEFAULTS[key]) as (typeof BUILTIN_DEFAULTS)[K];
  // Object.assign rather than `{ ...target, … }`: V8 adds properties to a spread copy one slow
  // step at a time, which made resolving 10,000 targets take a few hundred milliseconds.
  const resolved = Object.assign({}, target, {
    interval: pick('interval'),
    retryInterval: pick('retryInterval'),
    timeout: pick('timeout'),
    failureThreshold: pick('failureThreshold'),
    successThreshold: pick('successThreshold'),
    flap: { ...pick('flap') },
    notify: [...pick('notify')],
    labels: target.labels ?? {},
    dependsOn: target.dependsOn ?? [],
  }) as Target;
  // A target's own `interval` overrides an inherited `schedule`, and the other way round.
  if (target.schedule === undefined && target.interval === undefined && defaults.schedule !== undefined) resolved.schedule = defaults.schedule;
  // A zone means something only for a schedule, and is inherited on its own.
  const timezone = target.timezone ?? defaults.timezone;
  // (A target's own zone without a schedule is refused by the config checks.)
  if (resolved.schedule !== undefined && timezone !== undefined) resolved.timezone = timezone;
  if (target.repeatInterval === undefined && defaults.repeatInterval !== undefined) resolved.repeatInterval = defaults.repeatInterval;
  return resolved;
}
