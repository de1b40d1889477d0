/**
 * The bot as it ships (`node dist/cli.js`), compiled from the current src/ into .tmp/bench-build/:
 * measuring it under tsx would add the loader's thread (memory) and compile time (startup).
 * esbuild (installed with tsx) transpiles in well under a second; tsc, which takes ~25 s here,
 * is the fallback. Types are not checked: `npm run typecheck` does that.
 */
import { execFile } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

export interface BuiltBot {
  /** The compiled CLI: run it with `node <cliPath> run -c …`. */
  cliPath: string;
  dir: string;
  /** The bench's helper processes, bundled, so they start without tsx; undefined after the tsc fallback. */
  helpersDir: string | undefined;
  tool: 'esbuild' | 'tsc';
  buildMs: number;
}

export async function buildBot(repoRoot: string): Promise<BuiltBot> {
  const dir = join(repoRoot, '.tmp', 'bench-build');
  const started = performance.now();
  await rm(dir, { recursive: true, force: true });
  const sources = await listTypeScript(join(repoRoot, 'src'));
  let tool: BuiltBot['tool'] = 'esbuild';
  let helpersDir: string | undefined;
  try {
    const esbuild = await import('esbuild');
    helpersDir = join(dir, 'bench-helpers');
    const helpers = (await readdir(join(repoRoot, 'bench', 'servers'))).filter((name) => name.endsWith('.ts') && name !== 'rpc.ts');
    await esbuild.build({
      entryPoints: helpers.map((name) => join(repoRoot, 'bench', 'servers', name)),
      outdir: helpersDir,
      bundle: true,
      packages: 'external',
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'error',
    });
    await esbuild.build({
      entryPoints: sources,
      outbase: join(repoRoot, 'src'),
      outdir: dir,
      bundle: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'linked',
      logLevel: 'error',
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    tool = 'tsc';
    await promisify(execFile)(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', dir], { cwd: repoRoot })
      .catch((failure: { stdout?: string }) => {
        // tsc emits despite type errors; only a missing output is fatal.
        if (!failure.stdout) throw failure;
      });
  }
  return { cliPath: join(dir, 'cli.js'), dir, helpersDir, tool, buildMs: performance.now() - started };
}

async function listTypeScript(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort((a, b) => relative(dir, a).localeCompare(relative(dir, b)));
}
