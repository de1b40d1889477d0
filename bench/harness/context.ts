/** What every scenario is given: the built bot, the mode, a scratch directory, a progress log. */
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';

export interface BenchContext {
  repoRoot: string;
  /** The compiled CLI under test. */
  cliPath: string;
  /** The reduced smoke run (CI): small sizes, short windows, one run each. */
  quick: boolean;
  /** Runs per measured figure (the median is reported). */
  repeat: number;
  /** Scratch space for configs, state and logs; removed at the end. */
  workDir: string;
  /** Where CPU profiles and their summaries go. */
  resultsDir: string;
  /** Progress lines, to stderr. */
  log(message: string): void;
}

export function scratchDir(context: BenchContext, prefix: string): Promise<string> {
  return mkdtemp(join(context.workDir, `${prefix}-`));
}
