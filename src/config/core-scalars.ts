/**
 * What a plain (unquoted) YAML scalar means: the YAML 1.2 core schema exactly as the `yaml`
 * library resolves it (yaml/dist/schema/core/{null,bool,int,float}.js), so the fast js-yaml path
 * and the positioned `yaml` path read every value the same way. `yes`/`on` stay strings, `1_000`
 * and `2026-01-01` stay strings, `0o17` is 15, and an out-of-range `1e400` is Infinity.
 */

export interface CoreScalarRule {
  test: RegExp;
  resolve: (text: string) => null | boolean | number;
}

const isTrue = (text: string) => text[0] === 't' || text[0] === 'T';

/** By YAML tag, each in the order `yaml` tries them; the first rule whose test matches wins. */
export const CORE_SCALAR_RULES = {
  null: [{ test: /^(?:~|[Nn]ull|NULL)?$/, resolve: () => null }],
  bool: [{ test: /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/, resolve: isTrue }],
  int: [
    { test: /^0o[0-7]+$/, resolve: (text) => parseInt(text.slice(2), 8) },
    { test: /^[-+]?[0-9]+$/, resolve: (text) => parseInt(text, 10) },
    { test: /^0x[0-9a-fA-F]+$/, resolve: (text) => parseInt(text.slice(2), 16) },
  ],
  float: [
    {
      test: /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
      resolve: (text) => (text.slice(-3).toLowerCase() === 'nan' ? NaN : text[0] === '-' ? -Infinity : Infinity),
    },
    { test: /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/, resolve: (text) => parseFloat(text) },
    { test: /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/, resolve: (text) => parseFloat(text) },
  ],
} satisfies Record<string, CoreScalarRule[]>;

/** The value of a plain scalar that is not a string, or undefined when the text is a string. */
export function coreScalar(text: string): { value: null | boolean | number } | undefined {
  for (const rules of Object.values(CORE_SCALAR_RULES)) {
    for (const rule of rules) if (rule.test.test(text)) return { value: rule.resolve(text) };
  }
  return undefined;
}
