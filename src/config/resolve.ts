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
  // A target's own `interval` overrides an inherited `schedule`, and the other way round.
  const schedule = target.schedule ?? (target.interval === undefined ? defaults.schedule : undefined);
  const repeatInterval = target.repeatInterval ?? defaults.repeatInterval;
  const resolved = {
    ...target,
    interval: pick('interval'),
    retryInterval: pick('retryInterval'),
    timeout: pick('timeout'),
    failureThreshold: pick('failureThreshold'),
    successThreshold: pick('successThreshold'),
    flap: { ...pick('flap') },
    notify: [...pick('notify')],
    labels: target.labels ?? {},
    dependsOn: target.dependsOn ?? [],
  } as Target;
  if (schedule !== undefined) resolved.schedule = schedule;
  else delete resolved.schedule;
  if (repeatInterval !== undefined) resolved.repeatInterval = repeatInterval;
  else delete resolved.repeatInterval;
  return resolved;
}
