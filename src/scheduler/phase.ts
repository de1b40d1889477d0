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
 * murmur3's 32-bit finalizer: every input bit flips about half of the output bits. FNV-1a alone
 * keeps the structure of names that differ only in their last characters (web-001, web-002…):
 * taken modulo an interval, 2,000 such names started in clumps every ~0.5 s, a third above the
 * average rate. After this step their phases are as even as random ones.
 */
export function mix32(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Where in each interval a job fires, in ms: a stable hash of its name, so 10,000 targets spread
 * over the interval instead of firing together, and a restart keeps every target's rhythm.
 */
export function phaseOffset(name: string, intervalMs: number, stepMs = 1): number {
  const phase = mix32(fnv1a32(name)) % intervalMs;
  // Coarser phases make jobs that share a process (ICMP through one fping) start together.
  return stepMs > 1 ? phase - (phase % stepMs) : phase;
}

/** The first point of the grid `k * intervalMs + phase` (anchored at the epoch) strictly after `after`. */
export function nextGridPoint(after: number, intervalMs: number, phase: number): number {
  return (Math.floor((after - phase) / intervalMs) + 1) * intervalMs + phase;
}
