/**
 * Patterns a deployment writes in its settings (principals, namespaces, host names, references): the
 * text itself, with `*` standing for any run of characters (none included). Nothing else is special,
 * so a pattern never turns into a regular expression a setting could abuse.
 */

export interface PatternOptions {
  /** Host names compare case-insensitively; ARNs and namespaces do not. */
  ignoreCase?: boolean;
}

/** Does `value` match `pattern`? Linear time, no backtracking blow-up. */
export function matchesPattern(pattern: string, value: string, options: PatternOptions = {}): boolean {
  const p = options.ignoreCase ? pattern.toLowerCase() : pattern;
  const v = options.ignoreCase ? value.toLowerCase() : value;
  const parts = p.split('*');
  if (parts.length === 1) return p === v;
  const first = parts[0] ?? '';
  const last = parts[parts.length - 1] ?? '';
  if (!v.startsWith(first) || v.length < first.length + last.length || !v.endsWith(last)) return false;
  let at = first.length;
  const end = v.length - last.length;
  for (const middle of parts.slice(1, -1)) {
    const found = v.indexOf(middle, at);
    if (found < 0 || found + middle.length > end) return false;
    at = found + middle.length;
  }
  return true;
}

export function matchesAny(
  patterns: readonly string[],
  value: string,
  options: PatternOptions = {},
): boolean {
  return patterns.some((pattern) => matchesPattern(pattern, value, options));
}
