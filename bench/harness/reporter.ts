/** Collects one scenario's rows, notes and raw figures, printing each row as it is made. */
import { formatRow, makeRow, skippedRow, type Bar, type Row, type RowInput } from './rows.js';
import { median } from './stats.js';

export class Reporter {
  readonly rows: Row[] = [];
  readonly notes: string[] = [];
  readonly details: Record<string, unknown> = {};

  constructor(readonly scenario: string, private readonly print: (line: string) => void) {}

  row(input: RowInput): Row {
    const row = makeRow(this.scenario, input, median);
    this.rows.push(row);
    this.print(formatRow(row));
    return row;
  }

  skip(figure: string, bar: Bar | undefined, reason: string): Row {
    const row = skippedRow(this.scenario, figure, bar, reason);
    this.rows.push(row);
    this.print(formatRow(row));
    return row;
  }

  note(text: string): void {
    this.notes.push(text);
    this.print(`  note: ${text}`);
  }

  /** Free-form lines (a table, a profile) between the rows. */
  lines(text: string): void {
    this.print(text);
  }

  detail(key: string, value: unknown): void {
    this.details[key] = value;
  }

  get failed(): Row[] {
    return this.rows.filter((row) => row.verdict === 'FAIL');
  }
}
