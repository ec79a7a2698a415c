/**
 * Tab completion: dot-commands, global names (the session's, the API's, the platform's) and the
 * properties of a dotted path such as `ray.sle` or `Deno.env.g`.
 *
 * @module
 */

const KEYWORDS = [
  "async",
  "await",
  "break",
  "case",
  "catch",
  "class",
  "const",
  "continue",
  "debugger",
  "default",
  "delete",
  "do",
  "else",
  "export",
  "extends",
  "false",
  "finally",
  "for",
  "function",
  "if",
  "import",
  "in",
  "instanceof",
  "let",
  "new",
  "null",
  "return",
  "super",
  "switch",
  "this",
  "throw",
  "true",
  "try",
  "typeof",
  "undefined",
  "var",
  "void",
  "while",
  "with",
  "yield",
];

const IDENT = /^[A-Za-z_$][\w$]*$/;

/**
 * Completes the end of a line.
 *
 * @param line The line up to the cursor.
 * @param commands Dot-command names (".help", ...).
 * @param scope Where globals live.
 * @returns readline's pair: the candidates, and the text at the end of `line` they replace.
 */
export function complete(
  line: string,
  commands: readonly string[],
  scope: object = globalThis,
): [string[], string] {
  if (/^\s*\.[a-z]*$/.test(line)) {
    const word = line.trim();
    return [commands.filter((c) => c.startsWith(word)), word];
  }
  const code = line.replace(/^\s*\.profile\s+/, "");
  const member = /([A-Za-z_$][\w$]*(?:\??\.[A-Za-z_$][\w$]*)*)\??\.([\w$]*)$/.exec(code);
  if (member) {
    const target = resolvePath(member[1].split(/\??\./), scope);
    if (target === undefined || target === null) return [[], member[2]];
    return [matching(propertyNames(target), member[2]), member[2]];
  }
  const word = /(?:^|[^\w$.])([A-Za-z_$][\w$]*)$/.exec(code)?.[1] ?? "";
  if (word === "" && !/(^|[\s(,=;[{!&|?:+\-*/%<>])$/.test(code)) return [[], ""];
  const names = new Set([...propertyNames(scope), ...KEYWORDS]);
  return [matching(names, word), word];
}

function resolvePath(path: string[], scope: object): unknown {
  let v: unknown = scope;
  for (const key of path) {
    if (v === null || v === undefined) return undefined;
    try {
      v = (v as Record<string, unknown>)[key];
    } catch {
      return undefined;
    }
  }
  return v;
}

/** Own and inherited property names of a value that are identifiers. */
function propertyNames(v: unknown): Set<string> {
  const out = new Set<string>();
  let o: unknown = typeof v === "object" || typeof v === "function" ? v : Object(v);
  for (let depth = 0; o !== null && o !== undefined && depth < 20; depth++) {
    for (const k of Object.getOwnPropertyNames(o)) if (IDENT.test(k)) out.add(k);
    o = Object.getPrototypeOf(o);
  }
  return out;
}

function matching(names: Iterable<string>, prefix: string): string[] {
  const hits: string[] = [];
  for (const n of names) {
    if (n.startsWith(prefix) && !n.startsWith("__rayprof")) hits.push(n);
  }
  return hits.sort();
}
