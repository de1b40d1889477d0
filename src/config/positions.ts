/**
 * Maps a path in the parsed config back to a line and column in the YAML source. `yaml` is taken
 * from yamlLibrary() (it is loaded by then) so that importing this file does not load it.
 */
import type { Document, LineCounter, Node, Pair, YAMLMap } from 'yaml';
import type { ConfigProblem, SourcePosition } from './errors.js';
import { yamlLibrary } from './yaml-library.js';

/**
 * Where a problem is: the value at its path, or the named key of it; for a path that does not
 * exist (a missing required field) the nearest enclosing node that does.
 */
export function problemPosition(doc: Document, lineCounter: LineCounter, problem: ConfigProblem): SourcePosition | undefined {
  if (problem.offset !== undefined) return lineCounter.linePos(problem.offset);
  const offset = nodeOffset(doc, problem);
  return offset === undefined ? undefined : lineCounter.linePos(offset);
}

function nodeOffset(doc: Document, problem: ConfigProblem): number | undefined {
  const { isMap, isSeq } = yamlLibrary();
  let node: unknown = doc.contents;
  let offset = startOf(node);
  for (const part of problem.path) {
    if (isMap(node)) {
      const pair = findPair(node, String(part));
      if (!pair) return offset;
      node = pair.value;
      offset = startOf(pair.value) ?? startOf(pair.key) ?? offset;
    } else if (isSeq(node) && typeof part === 'number') {
      node = node.items[part];
      if (node === undefined) return offset;
      offset = startOf(node) ?? offset;
    } else {
      return offset;
    }
  }
  if (problem.key !== undefined && isMap(node)) return startOf(findPair(node, problem.key)?.key) ?? offset;
  return offset;
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  const { isPair } = yamlLibrary();
  return map.items.find((item) => isPair(item) && keyText(item.key) === key);
}

function keyText(key: unknown): string | undefined {
  const { isScalar } = yamlLibrary();
  if (isScalar(key)) return String(key.value);
  return undefined;
}

function startOf(node: unknown): number | undefined {
  const { isScalar } = yamlLibrary();
  const range = (node as Node | null | undefined)?.range;
  if (!range) return undefined;
  // An empty value (`port:`) has a zero-width range at the end of the line; keep the key instead.
  if (isScalar(node) && node.value === null && range[0] === range[1]) return undefined;
  return range[0];
}
