/**
 * How much V8 lets the old generation grow between full collections, for the long-running bot.
 *
 * Every probe leaves a little garbage that outlives a young-generation collection (Node's socket
 * objects, the new status that replaces the old one ten seconds later): at 10,000 targets about
 * 3 MB a second reach the old generation. V8 then lets the heap grow to as much as 4× what is
 * live before the next full collection, so a bot with 50 MB live sat at 310 MB resident. A
 * factor of 1.5 held it at about 160 MB for the same CPU (bench/scenarios/scale.ts): full
 * collections come every few seconds and, with this little live data, take a few milliseconds.
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 50;
const FLAG = 'heap-growing-percent';

/**
 * Sets the growth factor unless the operator chose one (`node --heap-growing-percent=N`).
 * V8 reads this flag at every full collection, so setting it after start takes effect.
 */
export function limitHeapGrowth(execArgv: readonly string[] = process.execArgv, setFlags: (flags: string) => void = setFlagsFromString): boolean {
  const chosen = execArgv.some((arg) => arg.replaceAll('_', '-').startsWith(`--${FLAG}`));
  if (chosen) return false;
  setFlags(`--${FLAG}=${HEAP_GROWING_PERCENT}`);
  return true;
}
