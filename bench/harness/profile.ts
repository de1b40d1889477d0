/**
 * Summary of a V8 CPU profile (node --cpu-prof): self time per function, largest first, so a
 * missed bar comes with where the bot spent its time.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  function: string;
  where: string;
  selfMs: number;
  /** Share of the sampled time that was not idle. */
  percent: number;
}

export interface ProfileSummary {
  file: string;
  /** Sampled time after `skipFirstMs`, and how much of it was idle. */
  sampledMs: number;
  idleMs: number;
  /** By self time: where the CPU was. */
  top: ProfileEntry[];
  /** probebot's own functions (src/) by inclusive time: which of our calls it was spent under. */
  ours: ProfileEntry[];
}

/** The newest .cpuprofile in dir. */
export async function newestProfile(dir: string): Promise<string | undefined> {
  const files = (await readdir(dir).catch(() => [])).filter((name) => name.endsWith('.cpuprofile')).sort();
  const last = files.at(-1);
  return last === undefined ? undefined : join(dir, last);
}

/** Self time per function, ignoring the first `skipFirstMs` of the profile (startup). */
export async function summariseProfile(file: string, repoRoot: string, options: { skipFirstMs?: number; top?: number } = {}): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const selfUs = new Map<string, { entry: Omit<ProfileEntry, 'selfMs' | 'percent'>; us: number }>();
  const inclusiveUs = new Map<string, { entry: Omit<ProfileEntry, 'selfMs' | 'percent'>; us: number }>();
  const skipUs = (options.skipFirstMs ?? 0) * 1000;
  let elapsedUs = 0;
  let sampledUs = 0;
  let idleUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    elapsedUs += delta;
    if (elapsedUs < skipUs) continue;
    const node = nodes.get(profile.samples[i]!);
    if (!node) continue;
    sampledUs += delta;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idleUs += delta;
      continue;
    }
    const where = url ? `${shortUrl(url, repoRoot)}:${lineNumber + 1}` : '';
    add(selfUs, functionName, where, delta);
    // Each of our functions on this sample's stack, once even when recursive.
    const seen = new Set<string>();
    for (let id: number | undefined = node.id, depth = 0; id !== undefined && depth < 500; id = parents.get(id), depth++) {
      const frame = nodes.get(id)!.callFrame;
      const at = frame.url ? shortUrl(frame.url, repoRoot) : '';
      if (!at.startsWith('src/')) continue;
      const ourWhere = `${at}:${frame.lineNumber + 1}`;
      const key = `${frame.functionName}@${ourWhere}`;
      if (seen.has(key)) continue;
      seen.add(key);
      add(inclusiveUs, frame.functionName, ourWhere, delta);
    }
  }
  const busyUs = Math.max(1, sampledUs - idleUs);
  const ranked = (table: typeof selfUs) => [...table.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, options.top ?? 15)
    .map(({ entry, us }) => ({ ...entry, selfMs: Math.round(us / 100) / 10, percent: Math.round((1000 * us) / busyUs) / 10 }));
  return { file, sampledMs: Math.round(sampledUs / 1000), idleMs: Math.round(idleUs / 1000), top: ranked(selfUs), ours: ranked(inclusiveUs).slice(0, 10) };
}

function add(table: Map<string, { entry: Omit<ProfileEntry, 'selfMs' | 'percent'>; us: number }>, functionName: string, where: string, us: number): void {
  const key = `${functionName}@${where}`;
  const slot = table.get(key) ?? { entry: { function: functionName || '(anonymous)', where }, us: 0 };
  slot.us += us;
  table.set(key, slot);
}

export function formatProfile(summary: ProfileSummary): string {
  const line = (entry: ProfileEntry) => `    ${entry.percent.toFixed(1).padStart(5)} %  ${entry.selfMs.toFixed(0).padStart(6)} ms  ${entry.function}  ${entry.where}`;
  return [
    `  profile ${summary.file}: ${summary.sampledMs} ms sampled, ${summary.idleMs} ms idle; top self time (% of busy time):`,
    ...summary.top.map(line),
    '  probebot functions by inclusive time:',
    ...summary.ours.map(line),
  ].join('\n');
}

function shortUrl(url: string, repoRoot: string): string {
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  const fromRepo = relative(repoRoot, path);
  if (fromRepo.startsWith('.tmp/bench-build/')) return `src/${fromRepo.slice('.tmp/bench-build/'.length)}`;
  return fromRepo.startsWith('..') ? path : fromRepo;
}
