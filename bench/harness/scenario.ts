import type { BenchContext } from './context.js';
import type { Reporter } from './reporter.js';

/** One `npm run bench -- <name>`: measures, and reports rows through the reporter. */
export interface Scenario {
  name: string;
  /** One line: what it measures. */
  title: string;
  run(context: BenchContext, report: Reporter): Promise<void>;
}
