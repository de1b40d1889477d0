/** FNV-1a, 32 bits, over UTF-16 code units: stable across versions and platforms, so phases survive restarts. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * Where in each interval a job fires, in ms: a stable hash of its name, so 10,000 targets spread
 * over the interval instead of firing together, and a restart keeps every target's rhythm.
 */
export function phaseOffset(name: string, intervalMs: number, stepMs = 1): number {
  const phase = fnv1a32(name) % intervalMs;
  // Coarser phases make jobs that share a process (ICMP through one fping) start together.
  return stepMs > 1 ? phase - (phase % stepMs) : phase;
}

/** The first point of the grid `k * intervalMs + phase` (anchored at the epoch) strictly after `after`. */
export function nextGridPoint(after: number, intervalMs: number, phase: number): number {
  return (Math.floor((after - phase) / intervalMs) + 1) * intervalMs + phase;
}
