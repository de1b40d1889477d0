/** Order statistics over plain number lists; NaN for an empty list. */

export function sorted(values: Iterable<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/** The p-th percentile (0-100) by nearest rank of an already sorted list. */
export function percentileOfSorted(sortedValues: ArrayLike<number>, p: number): number {
  const n = sortedValues.length;
  if (n === 0) return Number.NaN;
  const rank = Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1));
  return sortedValues[rank]!;
}

export function percentile(values: Iterable<number>, p: number): number {
  return percentileOfSorted(sorted(values), p);
}

export function median(values: Iterable<number>): number {
  const list = sorted(values);
  const n = list.length;
  if (n === 0) return Number.NaN;
  return n % 2 === 1 ? list[(n - 1) / 2]! : (list[n / 2 - 1]! + list[n / 2]!) / 2;
}

export function spread(values: readonly number[]): { min: number; max: number } {
  return values.length === 0 ? { min: Number.NaN, max: Number.NaN } : { min: Math.min(...values), max: Math.max(...values) };
}

/** A short summary of a latency-like sample: count, p50, p99, max. */
export function summarise(values: Iterable<number>): { count: number; p50: number; p99: number; max: number } {
  const list = sorted(values);
  return { count: list.length, p50: percentileOfSorted(list, 50), p99: percentileOfSorted(list, 99), max: list.length ? list[list.length - 1]! : Number.NaN };
}
