/**
 * The `yaml` library, loaded on first use. It is only needed to report problems with positions
 * (and for rare `${VAR}` values), and importing it costs ~50 ms that `probebot check` on a valid
 * file should not pay. `yaml` resolves to the same CommonJS build for `import` and `require` under
 * Node, so this is the very instance any other module imports.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let library: typeof import('yaml') | undefined;

export function yamlLibrary(): typeof import('yaml') {
  library ??= require('yaml') as typeof import('yaml');
  return library;
}
