/**
 * One row per figure: what was measured, its median over the runs, its spread, the bar it must
 * meet and whether it did. Rows print as they are made and end up in bench/results/<scenario>.json.
 */

export type Verdict = 'PASS' | 'FAIL' | 'INFO' | 'SKIP';

export interface Bar {
  /** "< 50 ms", "≥ 99.9 %". */
  text: string;
  met(value: number): boolean;
}

export interface Row {
  scenario: string;
  figure: string;
  unit: string;
  /** Median over the runs (NaN when skipped). */
  median: number;
  /** "p99 12.1", "runs 1.2–1.9", …: how much it moved. */
  spread: string;
  bar: string;
  verdict: Verdict;
  /** Per-run values behind the median. */
  runs: number[];
  note?: string;
}

export const below = (limit: number, unit: string): Bar => ({ text: `< ${limit} ${unit}`, met: (value) => value < limit });
export const atMost = (limit: number, unit: string): Bar => ({ text: `≤ ${limit}${unit ? ` ${unit}` : ''}`, met: (value) => value <= limit });
export const atLeast = (limit: number, unit: string): Bar => ({ text: `≥ ${limit} ${unit}`, met: (value) => value >= limit });

export interface RowInput {
  figure: string;
  unit: string;
  runs: number[];
  /** The median is taken of `runs` unless given. */
  median?: number;
  spread?: string;
  bar?: Bar;
  note?: string;
}

export function makeRow(scenario: string, input: RowInput, medianOf: (values: number[]) => number): Row {
  const median = input.median ?? medianOf(input.runs);
  const spread = input.spread ?? runSpread(input.runs);
  const verdict: Verdict = input.bar === undefined ? 'INFO' : Number.isNaN(median) ? 'FAIL' : input.bar.met(median) ? 'PASS' : 'FAIL';
  const row: Row = { scenario, figure: input.figure, unit: input.unit, median, spread, bar: input.bar?.text ?? '', verdict, runs: input.runs };
  if (input.note !== undefined) row.note = input.note;
  return row;
}

export function skippedRow(scenario: string, figure: string, bar: Bar | undefined, reason: string): Row {
  return { scenario, figure, unit: '', median: Number.NaN, spread: '', bar: bar?.text ?? '', verdict: 'SKIP', runs: [], note: reason };
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return '-';
  if (Number.isInteger(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return value.toFixed(0);
  if (magnitude >= 100) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

const WIDTHS = [14, 46, 14, 22, 14, 5];

export function formatHeader(): string {
  return pad(['scenario', 'figure', 'median', 'spread', 'bar', 'verdict']);
}

export function formatRow(row: Row): string {
  const value = Number.isNaN(row.median) ? '-' : `${formatValue(row.median)} ${row.unit}`.trim();
  const line = pad([row.scenario, row.figure, value, row.spread, row.bar, row.verdict]);
  return row.note ? `${line}  ${row.note}` : line;
}

function pad(cells: string[]): string {
  return cells.map((cell, i) => cell.padEnd(WIDTHS[i] ?? 0)).join(' ').trimEnd();
}

function runSpread(runs: number[]): string {
  if (runs.length <= 1) return runs.length === 1 ? '1 run' : '';
  return `runs ${formatValue(Math.min(...runs))}–${formatValue(Math.max(...runs))}`;
}
