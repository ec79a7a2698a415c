/**
 * Turns one REPL input (TypeScript) into a classic script the session can run in the global scope:
 * top-level declarations become assignments to globals so they persist across inputs, imports
 * become awaited dynamic imports resolved against the working directory, the last expression is
 * returned, and the whole is wrapped in an async function so top-level `await` works. Types are
 * stripped by oxc-transform afterwards (not checked).
 *
 * The rewrite only replaces text inside lines and adds none, so line `n` of the script is line `n`
 * of the input before type stripping; {@linkcode LineMap} maps the stripped code's lines back.
 *
 * @module
 */
import { importPackage } from "../host/packages.ts";
import { lineLookup } from "../instrument/instrument.ts";
import { bindingNames } from "../instrument/strip_types.ts";

// From rayprof's node_modules on disk, else `npm:` at the pinned version (rayprof run from a URL,
// where no import map names these packages).
const { parseSync } = await importPackage<typeof import("oxc-parser")>("oxc-parser");
const { transformSync } = await importPackage<typeof import("oxc-transform")>("oxc-transform");

/** Name of the helper object the generated code calls (`import()`, `import.meta`). */
export const HELPER = "__rayprofRepl";

// deno-lint-ignore no-explicit-any
type Node = any;

/** A top-level function of an input, kept for `.profile`. */
export interface DefinedFunction {
  /** Global name it is bound to. */
  name: string;
  /** Its TypeScript text as typed. */
  source: string;
  /** 1-based line of its first character in the input. */
  line: number;
  /** A `function` declaration, or a function expression assigned to a variable. */
  declaration: boolean;
}

/** A remote function defined in the input that reads variables workers cannot see. */
export interface ShippingProblem {
  /** The function's name (or "anonymous"). */
  name: string;
  /** Session variables it reads. */
  uses: string[];
  /** 1-based line in the input. */
  line: number;
}

/** The result of {@linkcode compileInput}. */
export interface CompiledInput {
  /** JavaScript of a script whose value is `[lastValue]`, or a promise of it (see `wrapped`). */
  code: string;
  /** Names declared at the top level (they become globals). */
  declared: string[];
  /** Top-level functions declared, with their sources. */
  functions: DefinedFunction[];
  /** Generated line → input line. */
  lines: LineMap;
  /** Remote functions that use session variables. */
  shipping: ShippingProblem[];
  /** The input has no statement (blank, or only comments). */
  empty: boolean;
  /** Bindings made by `import` declarations. */
  imports: ImportBinding[];
  /**
   * The code runs inside an async function (the input awaits at the top level); otherwise it is a
   * classic script whose value is `[lastValue]` rather than a promise of it.
   */
  wrapped: boolean;
}

/** One name an `import` declaration binds. */
export interface ImportBinding {
  /** The global it becomes. */
  local: string;
  /** The export it reads: a name, "default", or "*" for the namespace. */
  imported: string;
  /** The module specifier as written. */
  specifier: string;
}

/** Thrown for input that does not parse; `incomplete` when more lines could complete it. */
export class InputSyntaxError extends SyntaxError {
  /** More input could make it valid (an open bracket, string template or comment at the end). */
  incomplete: boolean;
  /** The parser's code frame. */
  codeFrame: string;

  /** Creates the error. */
  constructor(message: string, incomplete: boolean, codeFrame: string) {
    super(message);
    this.name = "SyntaxError";
    this.incomplete = incomplete;
    this.codeFrame = codeFrame;
  }
}

/** Maps lines of the generated JavaScript to lines of the input. */
export class LineMap {
  #lines: Int32Array;

  /** Builds the map from a source map's `mappings` (only each line's first segment is used). */
  constructor(mappings: string) {
    const lines = mappings.split(";");
    this.#lines = new Int32Array(lines.length).fill(-1);
    let srcLine = 0;
    for (let i = 0; i < lines.length; i++) {
      const segs = lines[i];
      if (segs === "") continue;
      let first = -1;
      for (const seg of segs.split(",")) {
        const v = decodeVlq(seg);
        if (v.length >= 4) {
          srcLine += v[2];
          if (first < 0) first = srcLine;
        }
      }
      this.#lines[i] = first;
    }
  }

  /** Input line (1-based) of a generated line (1-based); the line itself when unknown. */
  original(line: number): number {
    for (let i = line - 1; i >= 0 && i < this.#lines.length; i--) {
      if (this.#lines[i] >= 0) return this.#lines[i] + 1;
    }
    return line;
  }
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

function decodeVlq(seg: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (let i = 0; i < seg.length; i++) {
    const d = B64_INDEX[seg.charCodeAt(i)];
    value += (d & 31) << shift;
    if (d & 32) {
      shift += 5;
    } else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

/** Parses TypeScript; throws {@linkcode InputSyntaxError} when it does not parse. */
function parse(source: string): Node {
  const r = parseSync("input.ts", source, { sourceType: "module", lang: "ts" });
  if (r.errors.length > 0) {
    const e = r.errors[0];
    const end = source.trimEnd().length;
    // Open at the end: a bracket (error at EOF), a template literal or a block comment. An
    // unterminated quote or regular expression is an error: no further line can close it.
    const incomplete = r.errors.some((err: Node) =>
      /Unterminated multi-?line comment/i.test(err.message) ||
      (err.labels ?? []).some((l: Node) =>
        l.start >= end || (/Unterminated/.test(err.message) && source[l.start] === "`")
      )
    );
    throw new InputSyntaxError(e.message, incomplete, e.codeframe ?? "");
  }
  return r.program;
}

/**
 * Whether `source` is a complete input: false when it ends inside an open bracket, template,
 * comment or expression, so the REPL should read another line.
 */
export function isComplete(source: string): boolean {
  try {
    parse(source);
    return true;
  } catch (e) {
    return !(e as InputSyntaxError).incomplete;
  }
}

/** Options for {@linkcode compileInput}. */
export interface CompileInputOptions {
  /** Names the session defined so far (for the remote function check). */
  sessionNames?: ReadonlySet<string>;
  /** Names that workers have as globals too, never reported (the API, `ray`). */
  workerGlobals?: ReadonlySet<string>;
}

/**
 * Compiles one input.
 *
 * @param source The input as typed.
 * @param options Session names.
 * @returns The script and what it declares.
 * @throws {InputSyntaxError} If it does not parse.
 */
export function compileInput(source: string, options: CompileInputOptions = {}): CompiledInput {
  let program: Node;
  const trimmed = source.trim();
  // `{ a: 1 }` is an object, as in Deno's REPL, not a block.
  if (trimmed.startsWith("{") && trimmed.endsWith("}")) {
    try {
      const wrapped = `(${source})`;
      program = parse(wrapped);
      source = wrapped;
    } catch {
      program = parse(source);
    }
  } else {
    program = parse(source);
  }
  const edits: Edit[] = [];
  const declared: string[] = [];
  const functions: DefinedFunction[] = [];
  const imports: ImportBinding[] = [];
  const body: Node[] = program.body;
  const lineOf = lineLookup(source);
  const shipping: ShippingProblem[] = [];
  const inner: Edit[] = [];
  const names = new Set([...options.sessionNames ?? [], ...topLevelNames(body)]);
  for (const n of options.workerGlobals ?? []) names.delete(n);
  // Without a top-level await the input runs as a classic script: its function declarations
  // are then hoisted and bound on the global object, as in a script. With one, it runs inside an
  // async function, where they become assignments in place.
  const wrapped = walkExtras(program, inner, names, shipping, lineOf) ||
    body.some((n: Node) => n.type === "ImportDeclaration" && n.importKind !== "type");
  inner.sort((a, b) => a.start - b.start);
  /** The text of a range with the inner rewrites (import(), import.meta) applied. */
  const text = (start: number, end: number): string => applyEdits(source, inner, start, end);

  let valued = false;
  for (let i = 0; i < body.length; i++) {
    let node = body[i];
    if (node.type === "ExportNamedDeclaration" || node.type === "ExportDefaultDeclaration") {
      if (!node.declaration) {
        edits.push({ start: node.start, end: node.end, text: "" });
        continue;
      }
      edits.push({ start: node.start, end: node.declaration.start, text: "" });
      node = node.declaration;
      if (!node.type.endsWith("Declaration")) {
        if (i === body.length - 1) {
          edits.push({ start: node.start, end: node.start, text: wrapped ? "return [(" : ";[(" });
          edits.push({ start: node.end, end: node.end, text: ")];" });
          valued = true;
        }
        continue;
      }
    }
    switch (node.type) {
      case "ImportDeclaration":
        edits.push({ start: node.start, end: node.end, text: importText(node, source) });
        for (const s of node.specifiers) {
          if (node.importKind === "type" || s.importKind === "type") continue;
          declared.push(s.local.name);
          imports.push({
            local: s.local.name,
            imported: s.type === "ImportNamespaceSpecifier"
              ? "*"
              : s.type === "ImportDefaultSpecifier"
              ? "default"
              : s.imported.name ?? s.imported.value,
            specifier: node.source.value,
          });
        }
        break;
      case "VariableDeclaration":
        if (node.declare) {
          edits.push({ start: node.start, end: node.end, text: "" });
          break;
        }
        edits.push({
          start: node.start,
          end: node.end,
          text: variableText(node, text, declared),
        });
        for (const d of node.declarations) {
          const init = d.init;
          if (d.id.type === "Identifier" && init && FUNCTION_TYPES.has(init.type)) {
            functions.push({
              name: d.id.name,
              source: source.slice(init.start, init.end),
              line: lineOf(init.start),
              declaration: false,
            });
          }
        }
        break;
      case "FunctionDeclaration":
      case "ClassDeclaration":
        if (!node.id || node.declare) break;
        if (!node.body) { // an overload signature
          edits.push({ start: node.start, end: node.end, text: "" });
          break;
        }
        declared.push(node.id.name);
        if (wrapped || node.type === "ClassDeclaration") {
          edits.push({ start: node.start, end: node.start, text: `${node.id.name} = ` });
          edits.push({ start: node.end, end: node.end, text: ";" });
        }
        if (node.type === "FunctionDeclaration") {
          functions.push({
            name: node.id.name,
            source: source.slice(node.start, node.end),
            line: lineOf(node.start),
            declaration: true,
          });
        }
        break;
      case "TSEnumDeclaration":
      case "TSModuleDeclaration":
        if (node.declare || node.id?.type !== "Identifier") break;
        declared.push(node.id.name);
        edits.push({
          start: node.end,
          end: node.end,
          text: `;globalThis[${JSON.stringify(node.id.name)}] = ${node.id.name};`,
        });
        break;
      case "ExpressionStatement":
        if (i === body.length - 1) {
          const e = node.expression;
          edits.push({ start: node.start, end: e.start, text: wrapped ? "return [(" : ";[(" });
          edits.push({ start: e.end, end: node.end, text: ")];" });
          valued = true;
        }
        break;
    }
  }
  // Inner rewrites outside the replaced statements still apply.
  for (const e of inner) {
    if (!edits.some((x) => x.end > x.start && e.start >= x.start && e.end <= x.end)) edits.push(e);
  }
  edits.sort((a, b) => a.start - b.start || a.end - b.end);
  const rewritten = applyEdits(source, edits, 0, source.length);
  // A script's value is its last statement's: `[value]`, or `[undefined]` after a declaration.
  const out = wrapped
    ? `(async () => {${rewritten}\n})()`
    : valued
    ? rewritten
    : `${rewritten}\n;[undefined];`;

  const t = transformSync("input.ts", out, { sourcemap: true, typescript: {} });
  if (t.errors.length > 0) {
    throw new InputSyntaxError(t.errors[0].message, false, t.errors[0].codeframe ?? "");
  }
  return {
    code: t.code,
    declared,
    functions,
    lines: new LineMap(t.map?.mappings ?? ""),
    shipping,
    empty: body.length === 0,
    imports,
    wrapped,
  };
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

/** `source[start:end]` with the edits inside it applied (edits sorted, outermost wins). */
function applyEdits(source: string, edits: Edit[], start: number, end: number): string {
  let out = "";
  let pos = start;
  for (const e of edits) {
    if (e.start < pos || e.end > end) continue;
    out += source.slice(pos, e.start) + e.text;
    pos = e.end;
  }
  return out + source.slice(pos, end);
}

/** Names the statements declare at the top level (for the remote function check). */
function topLevelNames(body: Node[]): string[] {
  const out: string[] = [];
  for (let node of body) {
    if (node.type.startsWith("Export") && node.declaration) node = node.declaration;
    if (node.type === "VariableDeclaration") {
      for (const d of node.declarations) bindingNames(d.id, (n) => out.push(n));
    } else if (node.id?.type === "Identifier") out.push(node.id.name);
    else if (node.type === "ImportDeclaration") {
      for (const s of node.specifiers) out.push(s.local.name);
    }
  }
  return out;
}

const FUNCTION_TYPES = new Set([
  "FunctionExpression",
  "ArrowFunctionExpression",
]);

function importText(node: Node, source: string): string {
  if (node.importKind === "type") return "";
  const spec = source.slice(node.source.start, node.source.end);
  const attrs = node.attributes?.length
    ? `, { with: { ${node.attributes.map((a: Node) => source.slice(a.start, a.end)).join(", ")} } }`
    : "";
  const call = `(await ${HELPER}.import(${spec}${attrs}))`;
  const values = node.specifiers.filter((s: Node) => s.importKind !== "type");
  if (node.specifiers.length > 0 && values.length === 0) return "";
  const parts: string[] = [];
  let ns: string | undefined;
  for (const s of values) {
    if (s.type === "ImportNamespaceSpecifier") ns = s.local.name;
    else if (s.type === "ImportDefaultSpecifier") parts.push(`default: ${s.local.name}`);
    else {
      const imported = s.imported.type === "Identifier"
        ? s.imported.name
        : JSON.stringify(s.imported.value);
      parts.push(`${imported}: ${s.local.name}`);
    }
  }
  if (ns && parts.length > 0) return `${ns} = ${call}; ({ ${parts.join(", ")} } = ${ns});`;
  if (ns) return `${ns} = ${call};`;
  if (parts.length > 0) return `({ ${parts.join(", ")} } = ${call});`;
  return `${call};`;
}

function variableText(
  node: Node,
  text: (start: number, end: number) => string,
  declared: string[],
): string {
  const out: string[] = [];
  for (const d of node.declarations) {
    bindingNames(d.id, (n) => declared.push(n));
    const init = d.init ? text(d.init.start, d.init.end) : undefined;
    if (d.id.type === "Identifier") {
      if (init !== undefined) out.push(`${d.id.name} = (${init});`);
      else if (node.kind !== "var") out.push(`${d.id.name} = undefined;`);
    } else {
      const end = d.id.typeAnnotation ? d.id.typeAnnotation.start : d.id.end;
      out.push(`(${text(d.id.start, end)} = (${init ?? "undefined"}));`);
    }
  }
  return out.join(" ");
}

/**
 * Rewrites `import(...)` and `import.meta` anywhere, and finds remote functions that read session
 * variables.
 */
function walkExtras(
  program: Node,
  edits: Edit[],
  session: ReadonlySet<string>,
  shipping: ShippingProblem[],
  lineOf: (offset: number) => number,
): boolean {
  let topAwait = false;
  let depth = 0;
  const visit = (node: Node): void => {
    if (node === null || typeof node !== "object") return;
    if (Array.isArray(node)) {
      for (const c of node) visit(c);
      return;
    }
    if (typeof node.type !== "string") return;
    if (depth === 0) {
      topAwait ||= node.type === "AwaitExpression" ||
        (node.type === "ForOfStatement" && node.await) ||
        (node.type === "VariableDeclaration" && node.kind === "await using");
    }
    if (FUNCTION_TYPES.has(node.type) || node.type === "FunctionDeclaration") {
      depth++;
      for (const k in node) {
        const v = node[k];
        if (k !== "type" && v !== null && typeof v === "object") visit(v);
      }
      depth--;
      return;
    }
    if (node.type === "ImportExpression") {
      edits.push({ start: node.start, end: node.start + 6, text: `${HELPER}.import` });
    } else if (
      node.type === "MetaProperty" && node.meta?.name === "import" && node.property?.name === "meta"
    ) {
      edits.push({ start: node.start, end: node.end, text: `${HELPER}.importMeta` });
      return;
    } else if (node.type === "CallExpression" && isRemoteCallee(node.callee)) {
      const fn = node.arguments[0];
      if (fn && (FUNCTION_TYPES.has(fn.type) || fn.type === "ClassExpression")) {
        const uses = freeNames(fn).filter((n) => session.has(n));
        if (uses.length > 0) {
          shipping.push({ name: fn.id?.name ?? "anonymous", uses, line: lineOf(fn.start) });
        }
      }
    }
    for (const k in node) {
      if (k === "type" || k === "start" || k === "end") continue;
      const v = node[k];
      if (v !== null && typeof v === "object") visit(v);
    }
  };
  visit(program.body);
  return topAwait;
}

function isRemoteCallee(c: Node): boolean {
  if (c.type === "Identifier") return c.name === "remote";
  return c.type === "MemberExpression" && !c.computed && c.property?.name === "remote" &&
    c.object?.type === "Identifier" && c.object.name === "ray";
}

/**
 * Names a function reads but does not declare (approximate: any declaration anywhere inside it
 * counts, whatever its block).
 */
export function freeNames(fn: Node): string[] {
  const declared = new Set<string>();
  const used = new Set<string>();
  const declare = (p: Node) => {
    const names: string[] = [];
    bindingNames(p, (n) => names.push(n));
    for (const n of names) declared.add(n);
  };
  const visit = (node: Node, parent: Node, key: string): void => {
    if (node === null || typeof node !== "object") return;
    if (Array.isArray(node)) {
      for (const c of node) visit(c, parent, key);
      return;
    }
    const t: string = node.type;
    if (typeof t !== "string") return;
    if (
      t.startsWith("TS") && t !== "TSAsExpression" && t !== "TSNonNullExpression" &&
      t !== "TSSatisfiesExpression"
    ) return;
    if (t === "Identifier") {
      if (parent && !isReference(parent, key)) return;
      used.add(node.name);
      return;
    }
    switch (t) {
      case "FunctionDeclaration":
      case "FunctionExpression":
      case "ArrowFunctionExpression":
        if (node.id) declared.add(node.id.name);
        for (const p of node.params) declare(p.type === "TSParameterProperty" ? p.parameter : p);
        break;
      case "ClassDeclaration":
      case "ClassExpression":
        if (node.id) declared.add(node.id.name);
        break;
      case "VariableDeclarator":
        declare(node.id);
        break;
      case "CatchClause":
        if (node.param) declare(node.param);
        break;
      case "LabeledStatement":
      case "BreakStatement":
      case "ContinueStatement":
        if (node.body) visit(node.body, node, "body");
        return;
    }
    for (const k in node) {
      if (k === "type" || k === "start" || k === "end" || k === "typeAnnotation") continue;
      if (k === "returnType" || k === "typeParameters" || k === "typeArguments") continue;
      const v = node[k];
      if (v !== null && typeof v === "object") visit(v, node, k);
    }
  };
  visit(fn, null, "");
  return [...used].filter((n) => !declared.has(n) && n !== "arguments" && n !== "undefined");
}

function isReference(parent: Node, key: string): boolean {
  switch (parent.type) {
    case "MemberExpression":
      return key !== "property" || parent.computed;
    case "Property":
    case "PropertyDefinition":
    case "MethodDefinition":
    case "AccessorProperty":
      return key !== "key" || parent.computed;
    case "MetaProperty":
      return false;
    case "ImportSpecifier":
    case "ExportSpecifier":
      return false;
  }
  return true;
}
