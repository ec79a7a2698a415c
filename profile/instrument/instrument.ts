/**
 * Rewrites TypeScript or JavaScript source so that chosen functions report line events to the
 * probes of {@linkcode ../line/collector.ts}: decide what to profile → rewrite the syntax tree → run.
 *
 * Probes are inserted on the lines they measure and nothing else moves to another line, so the
 * rewritten text has the same line numbers as the original and error stack traces keep pointing at
 * the user's lines. The output is still TypeScript when the input was; the platform transpiles it.
 *
 * What a profiled function becomes (exact mode; `__rp$l` charges the time since `__rp$t` to the
 * previous line's slot `__rp$s` and counts a hit on the new one):
 * ```text
 * function ex1() {__rp$n||__rp$I();let __rp$t=__rp$n(),__rp$s=0;try{
 *   ;__rp$t=__rp$l(__rp$s,__rp$t,__rp$s=1);const list1 = [];
 *   for (let i = 0; (__rp$t=__rp$l(__rp$s,__rp$t,__rp$s=2),i < 5); i++) {
 *     ;__rp$t=__rp$l(__rp$s,__rp$t,__rp$s=3);list1.push(await get(func.remote()));
 *   }
 * }finally{__rp$x(__rp$s,__rp$t)}}
 * ```
 *
 * @module
 */

import type { FunctionInfo } from "../line/collector.ts";
import type { FuncSite } from "../func/collector.ts";
import { typeBlanks } from "./strip_types.ts";
import { InstrumentError, InstrumentSyntaxError, MarkerError } from "./errors.ts";
import { parser, RAW_OPTIONS } from "./parser.ts";

export { InstrumentError, InstrumentSyntaxError, MarkerError };
export { loadParser, parserLoaded, useFastParser } from "./parser.ts";

/** Which functions to profile. */
export interface Selection {
  /** Every function of the module (kernprof `-p`). */
  all?: boolean;
  /** Functions whose name, or last part of `Class.method`, is one of these. */
  names?: string[];
}

/** Options for {@linkcode instrument}. */
export interface InstrumentOptions {
  /** Absolute path or URL of the source, used in stats, messages and to pick the syntax. */
  file: string;
  /**
   * First probe slot to use (see `LineCollector.nextSlot`).
   * @default {1}
   */
  firstSlot?: number;
  /**
   * What to profile besides functions with a marker (`// @profile`, `/** @profile *\/`, the
   * `@profile` decorator, `profile(fn)`), which are always profiled.
   * @default {{}}
   */
  select?: Selection;
  /**
   * Replace `import.meta.main` with `true`: the module is the script being profiled, imported by
   * the CLI rather than run as the main module.
   * @default {false}
   */
  entry?: boolean;
  /**
   * Probe style. `"call"` calls the probe functions (exact mode: the cost is the clock read);
   * `"inline"` writes the counters in place, reading the shared tick clock (`--sample` mode, where
   * a call would cost more than the work it does).
   * @default {"call"}
   */
  probes?: "call" | "inline";
  /**
   * Keep the source text of each profiled function in the result.
   * @default {true}
   */
  keepSource?: boolean;
  /**
   * Give every function of the module entry/exit probes for the function profiler (see
   * `../func/collector.ts`), with suspend/resume probes around its `await`s and `yield`s. Line probes
   * still go only to the chosen functions.
   * @default {false}
   */
  functionProbes?: boolean;
  /**
   * First function-profiler id to use (see `FuncCollector.nextId`).
   * @default {1}
   */
  firstFunctionId?: number;
  /**
   * Also blank out TypeScript-only syntax when that is all it takes to make JavaScript (see
   * `strip_types.ts`), keeping every line and column; `js` in the result tells whether it did.
   * @default {false}
   */
  stripTypes?: boolean;
  /**
   * With `stripTypes`: make JavaScript (and `links`) of the module even when nothing in it is
   * instrumented, when blanking its types is all it takes (what a copy of it needs, see
   * `_copy_mode.ts`).
   * @default {false}
   */
  asJavaScript?: boolean;
  /**
   * The JSX settings the module is transpiled with (Deno, `.tsx`/`.jsx`): not read here, but part
   * of the options, so that an instrument cache keyed by them tells the settings apart.
   */
  jsx?: unknown;
}

/** What {@linkcode instrument} made. */
export interface InstrumentResult {
  /** The rewritten source, with the same line numbers; equal to the input when nothing changed. */
  code: string;
  /** Profiled functions and their slots. */
  functions: FunctionInfo[];
  /** Next free slot after this module. */
  nextSlot: number;
  /** Things the user may want to know (e.g. a function left unprofiled and why). */
  warnings: string[];
  /** With `functionProbes`: the functions and await sites, by function-profiler id. */
  sites?: [number, FuncSite][];
  /** With `functionProbes`: the next free function-profiler id. */
  nextFunctionId?: number;
  /**
   * Where the first decorator other than `@profile` is, if any. Deno's import hook cannot pass
   * such a module on once rewritten (oxc-transform does not lower TC39 decorators).
   */
  decorator?: { file: string; line: number; column: number; codeFrame: string };
  /** With `stripTypes`: the code is JavaScript (its TypeScript-only syntax blanked out). */
  js?: boolean;
  /**
   * With `js`: a source map's `mappings` from the code back to the source (lines stay; columns
   * move by what was inserted before them on their line).
   */
  mappings?: string;
  /** With `js`: where the code names other modules, and its `import.meta`s (see {@linkcode ModuleLinks}). */
  links?: ModuleLinks;
}

/**
 * Where a module's code (the instrumented JavaScript) depends on its own location: what lets
 * Deno's start-up run a copy of it from elsewhere (`copy_mode.ts`). Offsets are into the code.
 */
export interface ModuleLinks {
  /**
   * The module specifiers of its static `import`s and `export ... from`s: the string literal's
   * span (quotes included) and its value. Type-only ones are left out (blanked in the code).
   */
  specifiers: [start: number, end: number, specifier: string][];
  /** The same for the `import()` expressions whose specifier is a string literal. */
  dynamicSpecifiers: [start: number, end: number, specifier: string][];
  /** Where each `import.meta` left in the code starts. */
  metas: number[];
  /** It has an `import()` whose specifier is computed (where it leads is not known). */
  dynamicImports: boolean;
}

// deno-lint-ignore no-explicit-any
type Node = any;

interface FnRecord {
  node: Node;
  name: string;
  /** Offsets where a marker must be followed by to mean this function. */
  owners: number[];
  yields: Node[];
  /** `await` expressions, `for await` loops, and catch/finally blocks (function probes). */
  awaits: Node[];
  forAwaits: Node[];
  handlers: Node[];
  firstOffset: number;
  selected: boolean;
}

interface ClassRecord {
  owners: number[];
  methods: FnRecord[];
}

interface Insertion {
  at: number;
  text: string;
  /** 0: statement level, 1: expression level. */
  level: number;
  open: boolean;
  /** Span of the construct this belongs to. */
  start: number;
  end: number;
  seq: number;
}

/**
 * Whether a module's TypeScript-only syntax can simply be blanked out to make JavaScript (see
 * `stripTypes`), or it needs a real transform; and what it imports.
 *
 * @param source The module's text.
 * @param file Its path (the extension picks the syntax).
 * @returns The specifiers of its static imports and re-exports, or `undefined` when it needs a
 *   real transform (or does not parse).
 */
export function strippableImports(source: string, file: string): string[] | undefined {
  const lang = langOf(file);
  if (lang === "tsx" || lang === "jsx") return undefined;
  const parsed = parser().parseSync(file, source, {
    lang,
    sourceType: "module",
    preserveParens: true,
    ...RAW_OPTIONS,
  });
  if (parsed.errors.some((e) => e.severity === "Error")) return undefined;
  if (typeBlanks(parsed.program, source) === undefined) return undefined;
  return (parsed.program as Node).body.flatMap((s: Node) =>
    typeof s.source?.value === "string" ? [s.source.value] : []
  );
}

const FUNCTION_TYPES = new Set([
  "FunctionDeclaration",
  "FunctionExpression",
  "ArrowFunctionExpression",
]);
const MARKER_NAMES = new Set(["profile"]);

/**
 * Instruments one module.
 *
 * @param source Source text (TypeScript or JavaScript, by the file's extension).
 * @param options Options; `file` is required.
 * @returns The rewritten code, the profiled functions and the next free slot.
 * @throws {InstrumentSyntaxError} If the source does not parse.
 * @throws {MarkerError} If a marker is above something that is not a function, method or class.
 *
 * @example Profile a marked function
 * ```ts
 * import { instrument } from "./instrument.ts";
 * import assert from "node:assert/strict";
 * const src = "// @profile\nfunction f() {\n  return 1;\n}\n";
 * const r = instrument(src, { file: "/tmp/x.ts" });
 * assert.deepEqual(r.functions.map((f) => [f.name, f.line, f.endLine]), [["f", 1, 4]]);
 * assert.deepEqual(r.code.split("\n").length, src.split("\n").length);
 * ```
 */
export function instrument(source: string, options: InstrumentOptions): InstrumentResult {
  const file = options.file;
  const lang = langOf(file);
  const parsed = parser().parseSync(file, source, {
    lang,
    sourceType: "module",
    preserveParens: true,
    // Raw transfer hands the tree over through shared memory: about twice as fast under Deno.
    ...RAW_OPTIONS,
  });
  const lines = lineStarts(source);
  const at = (offset: number) => location(source, lines, file, offset);
  const firstError = parsed.errors.find((e) => e.severity === "Error");
  if (firstError) {
    const offset = firstError.labels[0]?.start ?? 0;
    const where = at(offset);
    throw new InstrumentSyntaxError(
      `Cannot profile ${file} as it has a syntax error at line ${where.line}, column ${where.column}: ${firstError.message}`,
      where,
    );
  }
  const program = parsed.program as Node;
  const fns: FnRecord[] = [];
  const classes: ClassRecord[] = [];
  const owners = new Map<number, FnRecord | ClassRecord>();
  const profiledNames = new Set<string>();
  const blanks: [number, number][] = [];
  // Overload signatures seen, by function name (or Class.method), waiting for their body.
  const overloads = new Map<string, number[]>();
  let firstDecorator = Infinity;
  const replacements: [number, number, string][] = [];
  const select = options.select ?? {};
  // What `links` reports, in source offsets.
  const specifierNodes: Node[] = [];
  const dynamicSpecifierNodes: Node[] = [];
  const metaStarts: number[] = [];
  let dynamicImports = false;

  // ---- pass 1: find functions, their names and what a marker above them would look like
  const walk = (
    node: Node,
    fn: FnRecord | null,
    hint: string | null,
    ownerStarts: number[],
    cls: ClassRecord | null,
  ): void => {
    if (node === null || typeof node !== "object") return;
    if (Array.isArray(node)) {
      for (const n of node) walk(n, fn, null, [], cls);
      return;
    }
    const type: string = node.type;
    if (type === undefined) return;
    if (type === "TSDeclareFunction") {
      // An overload signature: a marker above it means the implementation that follows.
      if (node.id) {
        const list = overloads.get(node.id.name) ?? [];
        overloads.set(node.id.name, [...list, node.start, ...ownerStarts]);
      }
      return;
    }
    if (FUNCTION_TYPES.has(type)) {
      if (type === "FunctionDeclaration" && node.id && overloads.has(node.id.name)) {
        ownerStarts = [...ownerStarts, ...overloads.get(node.id.name)!];
        overloads.delete(node.id.name);
      }
      const name = hint ?? node.id?.name ?? "<anonymous>";
      const rec: FnRecord = {
        node,
        name: hint && node.id?.name && !hint.includes(".") ? node.id.name : name,
        owners: [node.start, ...ownerStarts],
        yields: [],
        awaits: [],
        forAwaits: [],
        handlers: [],
        firstOffset: Math.min(node.start, ...ownerStarts),
        selected: false,
      };
      if (node.body) {
        fns.push(rec);
        for (const o of rec.owners) owners.set(o, rec);
        cls?.methods.push(rec);
      }
      walkChildren(node, rec, null);
      return;
    }
    switch (type) {
      case "ImportDeclaration":
        if (node.importKind !== "type") specifierNodes.push(node.source);
        break;
      case "ExportAllDeclaration":
        if (node.exportKind !== "type") specifierNodes.push(node.source);
        break;
      case "ImportExpression":
        if (node.source?.type === "Literal" && typeof node.source.value === "string") {
          dynamicSpecifierNodes.push(node.source);
        } else dynamicImports = true;
        break;
      case "MetaProperty":
        if (node.meta?.name === "import") metaStarts.push(node.start);
        break;
      case "ExportNamedDeclaration":
      case "ExportDefaultDeclaration": {
        if (node.source && node.exportKind !== "type") specifierNodes.push(node.source);
        const d = node.declaration;
        if (d) {
          const h = type === "ExportDefaultDeclaration" && !d.id ? "default" : null;
          walk(d, fn, h, [node.start, ...ownerStarts], cls);
        }
        walk(node.specifiers, fn, null, [], cls);
        return;
      }
      case "VariableDeclaration": {
        const single = node.declarations.length === 1;
        for (const d of node.declarations) {
          walk(d.id, fn, null, [], cls);
          if (d.init) {
            const name = d.id?.type === "Identifier" ? d.id.name : null;
            walk(d.init, fn, name, single ? [node.start, ...ownerStarts] : [d.start], cls);
          }
        }
        return;
      }
      case "ExpressionStatement": {
        walk(node.expression, fn, null, [node.start], cls);
        return;
      }
      case "AssignmentExpression": {
        walk(node.left, fn, null, [], cls);
        const name = node.left.type === "Identifier"
          ? node.left.name
          : node.left.type === "MemberExpression"
          ? source.slice(node.left.start, node.left.end)
          : null;
        walk(node.right, fn, name, ownerStarts, cls);
        return;
      }
      case "ParenthesizedExpression":
      case "TSAsExpression":
      case "TSSatisfiesExpression":
      case "TSNonNullExpression":
        walk(node.expression, fn, hint, ownerStarts, cls);
        return;
      case "CallExpression": {
        const callee = node.callee;
        const calleeName = callee.type === "Identifier"
          ? callee.name
          : callee.type === "MemberExpression" && !callee.computed
          ? callee.property.name
          : null;
        walk(callee, fn, null, [], cls);
        const isMarker = MARKER_NAMES.has(calleeName);
        const passName = isMarker || calleeName === "remote";
        const args = node.arguments;
        // A marker above `x = remote(function f() {}, opts)` or `app.get("/", () => {})` means
        // the first function (or class) among the arguments.
        let target = args.findIndex((a: Node) =>
          FUNCTION_TYPES.has(unwrap(a).type) || unwrap(a).type === "ClassExpression"
        );
        if (target < 0) target = args.length - 1;
        for (let i = 0; i < args.length; i++) {
          const a = args[i];
          if (isMarker && i === 0 && a.type === "Identifier") profiledNames.add(a.name);
          const before = fns.length;
          walk(a, fn, passName ? hint : null, i === target ? ownerStarts : [], cls);
          if (isMarker && i === 0 && FUNCTION_TYPES.has(unwrap(a).type)) {
            const rec = fns.slice(before).find((r) => r.node === unwrap(a));
            if (rec) rec.selected = true;
          }
        }
        walk(node.typeArguments, fn, null, [], cls);
        return;
      }
      case "ClassDeclaration":
      case "ClassExpression": {
        const c: ClassRecord = { owners: [node.start, ...ownerStarts], methods: [] };
        for (const d of node.decorators ?? []) {
          c.owners.push(d.start);
          firstDecorator = Math.min(firstDecorator, d.start);
        }
        for (const o of c.owners) if (!owners.has(o)) owners.set(o, c);
        classes.push(c);
        const className = node.id?.name ?? hint ?? "<anonymous class>";
        walk(node.decorators, fn, null, [], cls);
        walk(node.superClass, fn, null, [], cls);
        for (const member of node.body.body) walkMember(member, fn, className, c);
        return;
      }
      case "Property": {
        walk(node.key, fn, null, [], cls);
        const key = keyName(node.key, node.computed);
        walk(node.value, fn, key, [node.start], null);
        return;
      }
      case "YieldExpression":
        fn?.yields.push(node);
        walk(node.argument, fn, null, [], cls);
        return;
      case "AwaitExpression":
        fn?.awaits.push(node);
        break;
      case "ForOfStatement":
        if (node.await) fn?.forAwaits.push(node);
        break;
      case "CatchClause":
        fn?.handlers.push(node.body);
        break;
      case "TryStatement":
        if (node.finalizer) fn?.handlers.push(node.finalizer);
        break;
      case "MemberExpression":
        if (
          options.entry && node.object?.type === "MetaProperty" &&
          node.object.meta?.name === "import" && !node.computed && node.property?.name === "main"
        ) {
          const len = node.end - node.start;
          replacements.push([node.start, node.end, "true".padEnd(len, " ")]);
          return;
        }
        break;
    }
    walkChildren(node, fn, cls);
  };
  const walkChildren = (node: Node, fn: FnRecord | null, cls: ClassRecord | null) => {
    for (const key in node) {
      if (key === "type" || key === "start" || key === "end" || key === "range") continue;
      const v = node[key];
      if (v !== null && typeof v === "object") walk(v, fn, null, [], cls);
    }
  };
  const walkMember = (member: Node, fn: FnRecord | null, className: string, c: ClassRecord) => {
    const decorators: Node[] = member.decorators ?? [];
    const starts = [member.start, ...decorators.map((d: Node) => d.start)];
    let marked = false;
    for (const d of decorators) {
      const e = d.expression;
      const n = e.type === "Identifier"
        ? e.name
        : e.type === "MemberExpression" && !e.computed
        ? e.property.name
        : null;
      if (MARKER_NAMES.has(n)) {
        marked = true;
        blanks.push([d.start, d.end]);
      } else {
        firstDecorator = Math.min(firstDecorator, d.start);
        walk(d, fn, null, [], null);
      }
    }
    if (!member.key) return walk(member.body, fn, null, [], null); // an index signature, a static block
    walk(member.key, fn, null, [], null);
    const key = keyName(member.key, member.computed);
    const value = member.value;
    const overloadKey = `${className}.${member.static ? "static " : ""}${key}`;
    if (value && !value.body && member.type === "MethodDefinition") {
      // An overload signature of a method: a marker here means the implementation.
      overloads.set(overloadKey, [...(overloads.get(overloadKey) ?? []), ...starts]);
      return;
    }
    if (overloads.has(overloadKey)) {
      starts.push(...overloads.get(overloadKey)!);
      overloads.delete(overloadKey);
    }
    if (value) {
      const before = fns.length;
      const isMethod = member.type === "MethodDefinition" ||
        member.type === "TSAbstractMethodDefinition";
      const name = member.kind === "constructor"
        ? `${className}.constructor`
        : `${className}.${key}`;
      walk(value, fn, name, starts, isMethod ? c : null);
      const rec = fns.slice(before).find((r) => r.node === unwrap(value));
      if (rec) {
        if (!isMethod) c.methods.push(rec);
        if (marked) rec.selected = true;
        rec.firstOffset = Math.min(rec.firstOffset, ...starts);
      }
    } else if (member.type === "StaticBlock") {
      walk(member.body, fn, null, [], null);
    }
  };
  walk(program.body, null, null, [], null);

  // ---- pass 2: markers in comments
  const comments = parsed.comments;
  for (let ci = 0; ci < comments.length; ci++) {
    const c = comments[ci];
    if (!isMarkerComment(c.type, c.value)) continue;
    let pos = c.end;
    let cj = ci + 1;
    for (;;) {
      while (pos < source.length && /\s/.test(source[pos])) pos++;
      if (cj < comments.length && comments[cj].start === pos) {
        pos = comments[cj].end;
        cj++;
        continue;
      }
      break;
    }
    const target = owners.get(pos);
    if (!target) {
      const where = at(c.start);
      throw new MarkerError(
        `Cannot profile ${file} as the @profile marker at line ${where.line} is not directly above a function, method or class`,
        where,
      );
    }
    if ("node" in target) target.selected = true;
    else for (const m of target.methods) m.selected = true;
    if ("node" in target) target.firstOffset = Math.min(target.firstOffset, c.start);
    else for (const m of target.methods) m.firstOffset = Math.min(m.firstOffset, m.node.start);
  }
  for (const rec of fns) {
    if (rec.selected) continue;
    const last = rec.name.slice(rec.name.lastIndexOf(".") + 1);
    if (
      select.all || profiledNames.has(rec.name) ||
      (select.names && (select.names.includes(rec.name) || select.names.includes(last)))
    ) rec.selected = true;
  }

  // ---- pass 3: rewrite the selected functions
  const insertions: Insertion[] = [];
  let seq = 0;
  const insert = (
    atOffset: number,
    text: string,
    level: number,
    open: boolean,
    start: number,
    end: number,
  ) => insertions.push({ at: atOffset, text, level, open, start, end, seq: seq++ });
  const wrap = (start: number, end: number, before: string, after: string, level: number) => {
    insert(start, before, level, true, start, end);
    insert(end, after, level, false, start, end);
  };
  const lineOf = (offset: number) => lineIndex(lines, offset) + 1;
  const firstSlot = options.firstSlot ?? 1;
  let slot = firstSlot;
  const inline = options.probes === "inline";
  // Generated code indexes the module's own counters: slot - firstSlot + 1 (0 absorbs entry time).
  const rel = (abs: number) => abs - firstSlot + 1;
  const functions: FunctionInfo[] = [];
  const warnings: string[] = [];
  const funcProbes = options.functionProbes ?? false;
  const firstFunctionId = options.firstFunctionId ?? 1;
  let fid = firstFunctionId;
  const sites: [number, FuncSite][] = [];
  for (const rec of funcProbes ? fns : fns.filter((f) => f.selected)) {
    const node = rec.node;
    const body = node.body;
    const lineProbes = rec.selected;
    const conflict = body.type === "BlockStatement" ? varFunctionConflict(body.body) : null;
    if (conflict) {
      if (lineProbes) {
        warnings.push(
          `${file}:${
            lineOf(node.start)
          }: '${rec.name}' is not profiled as '${conflict}' is declared both with var and as a function in its body`,
        );
      }
      continue;
    }
    const id = funcProbes ? fid++ : 0;
    if (id) {
      sites.push([id, { file, line: lineOf(rec.firstOffset), name: rec.name, kind: "function" }]);
    }
    const slots = new Map<number, number>();
    const slotOf = (line: number) => {
      let s = slots.get(line);
      if (s === undefined) slots.set(line, s = slot++);
      return s;
    };
    const probe = (line: number) =>
      inline
        ? `(__rp$c=__rp$a[0])!==__rp$t&&(__rp$tt[__rp$s]+=__rp$c-__rp$t,__rp$t=__rp$c),__rp$h[__rp$s=${
          rel(slotOf(line))
        }]++`
        : `__rp$t=__rp$l(__rp$s,__rp$t,__rp$s=${rel(slotOf(line))})`;
    const stmtProbe = (offset: number, line = lineOf(offset)) =>
      insert(offset, `;${probe(line)};`, 0, true, offset, offset);
    const testProbe = (test: Node, line: number) =>
      wrap(test.start, test.end, `(${probe(line)},`, `)`, 1);
    // A statement on the same line as the probe that ran just before it gets no probe of its
    // own, so `if (x) return;` or `a(); b();` count one hit per pass, like kernprof's line events.
    const visitList = (list: Node[], prevLine: number) => {
      for (const s of list) {
        visit(s, prevLine);
        prevLine = lineOf(s.start);
      }
    };
    const visitSub = (s: Node, parentLine: number) => {
      if (s.type === "BlockStatement") visitList(s.body, parentLine);
      else {
        wrap(s.start, s.end, "{", "}", 0);
        visit(s, parentLine);
      }
    };
    const visitLoopBody = (b: Node, headerLine: number, headerProbe: boolean) => {
      if (!headerProbe) return visitSub(b, headerLine);
      if (b.type === "BlockStatement") {
        stmtProbe(b.start + 1, headerLine);
        visitList(b.body, headerLine);
      } else {
        wrap(b.start, b.end, "{", "}", 0);
        stmtProbe(b.start, headerLine);
        visit(b, headerLine);
      }
    };
    const visit = (s: Node, prevLine: number): void => {
      const line = lineOf(s.start);
      const withProbe = line !== prevLine;
      switch (s.type) {
        case "FunctionDeclaration":
        case "TSDeclareFunction":
        case "TSInterfaceDeclaration":
        case "TSTypeAliasDeclaration":
        case "EmptyStatement":
          return;
        case "BlockStatement":
          return visitList(s.body, prevLine);
        case "WhileStatement":
          testProbe(s.test, line);
          return visitSub(s.body, line);
        case "ForStatement":
          if (s.test) testProbe(s.test, line);
          else if (withProbe) stmtProbe(s.start);
          return visitLoopBody(s.body, line, !s.test);
        case "ForInStatement":
        case "ForOfStatement":
          if (withProbe) stmtProbe(s.start);
          return visitLoopBody(s.body, line, true);
        case "DoWhileStatement":
          if (withProbe) stmtProbe(s.start);
          visitSub(s.body, line);
          testProbe(s.test, lineOf(s.test.start));
          return;
        case "IfStatement":
          if (withProbe) stmtProbe(s.start);
          visitSub(s.consequent, line);
          if (s.alternate) visitSub(s.alternate, line);
          return;
        case "LabeledStatement": {
          const b = s.body;
          const testLoop = b.type === "WhileStatement" || (b.type === "ForStatement" && b.test);
          if (withProbe && !testLoop) stmtProbe(s.start);
          return visit(b, testLoop ? prevLine : line);
        }
        case "SwitchStatement":
          if (withProbe) stmtProbe(s.start);
          for (const c of s.cases) visitList(c.consequent, line);
          return;
        case "TryStatement":
          // `try`, `catch` and `finally` run no code of their own: no probe, no line to share.
          visitList(s.block.body, -1);
          if (s.handler) visitList(s.handler.body.body, -1);
          if (s.finalizer) visitList(s.finalizer.body, -1);
          return;
        case "WithStatement":
          if (withProbe) stmtProbe(s.start);
          return visitSub(s.body, line);
        default:
          if (s.type.startsWith("TS") && s.declare) return;
          if (withProbe) stmtProbe(s.start);
      }
    };
    const lineEntry = !lineProbes
      ? ""
      : inline
      ? `__rp$A||__rp$I();let __rp$t=__rp$A[0],__rp$s=0,__rp$c=0;const __rp$a=__rp$A,__rp$h=__rp$H,__rp$tt=__rp$T;`
      : `__rp$n||__rp$I();let __rp$t=__rp$n(),__rp$s=0;`;
    const entry = `${lineEntry}${id ? `__rp$fe||__rp$FI();const __rp$f=__rp$fe(${id});` : ""}try{`;
    const exit = `}finally{${
      [lineProbes ? "__rp$x(__rp$s,__rp$t)" : "", id ? "__rp$fx(__rp$f)" : ""]
        .filter(Boolean).join(";")
    }}`;
    if (body.type === "BlockStatement") {
      const stmts: Node[] = body.body;
      let k = 0;
      while (k < stmts.length && stmts[k].type === "ExpressionStatement" && stmts[k].directive) k++;
      const open = k > 0 ? stmts[k - 1].end : body.start + 1;
      // TypeScript puts parameter properties (`constructor(public x)`) right after a top-level
      // `super()`; keep that call outside the `try` so the transform still finds it.
      const superAt = node.params.some((p: Node) => p.type === "TSParameterProperty")
        ? stmts.findIndex((st) =>
          st.type === "ExpressionStatement" && st.expression.type === "CallExpression" &&
          st.expression.callee.type === "Super"
        )
        : -1;
      if (superAt >= k) {
        insert(open, entry.slice(0, -"try{".length), 0, true, open, open);
        wrap(stmts[superAt].end, body.end - 1, "try{", exit, 0);
      } else wrap(open, body.end - 1, entry, exit, 0);
      if (lineProbes) visitList(stmts.slice(k), -1);
    } else {
      insert(
        body.start,
        `{${entry}${lineProbes ? `${probe(lineOf(body.start))};` : ""}return (`,
        0,
        true,
        body.start,
        body.end,
      );
      insert(body.end, `)${exit}}`, 0, false, body.start, body.end);
    }
    if (lineProbes && node.generator) {
      for (const y of rec.yields) {
        wrap(y.start, y.end, "__rp$r(", ",__rp$t=__rp$n())", 1);
        if (y.argument) {
          wrap(y.argument.start, y.argument.end, "__rp$y(__rp$s,__rp$t,", ")", 1);
        } else insert(y.end, " __rp$y(__rp$s,__rp$t,void 0)", 1, false, y.end, y.end);
      }
    }
    if (id) functionSuspensions(rec);
    if (!lineProbes) continue;
    const firstLine = lineOf(rec.firstOffset);
    const endLine = lineOf(Math.max(node.start, node.end - 1));
    functions.push({
      file,
      name: rec.name,
      line: firstLine,
      endLine,
      slots: [...slots],
      ...(options.keepSource === false
        ? {}
        : { source: sourceLines(source, lines, firstLine, endLine) }),
    });
  }

  const funcResult = funcProbes ? { sites, nextFunctionId: fid } : {};
  if (
    functions.length === 0 && replacements.length === 0 && sites.length === 0 &&
    !(options.stripTypes && options.asJavaScript)
  ) {
    return { code: source, functions, nextSlot: slot, warnings, ...funcResult };
  }
  // The prologue goes on line 1 (or after a hashbang) so no line moves.
  let prologueAt = 0;
  if (source.startsWith("#!")) {
    const nl = source.indexOf("\n");
    prologueAt = nl < 0 ? source.length : nl + 1;
  }
  if (functions.length > 0) {
    insert(
      prologueAt,
      // var and a hoisted function, not const: in an import cycle a profiled function may run
      // before this module's body, and then fetches the probes itself (see lineEntry).
      `var __rp$l,__rp$x,__rp$n,__rp$y,__rp$r,__rp$H,__rp$T,__rp$A;function __rp$I(){({l:__rp$l,x:__rp$x,n:__rp$n,y:__rp$y,r:__rp$r,H:__rp$H,T:__rp$T,A:__rp$A}=globalThis[Symbol.for("rayprof.lineProbes")].module(${firstSlot}))}__rp$I();`,
      0,
      true,
      -1,
      Infinity,
    );
  }
  if (sites.length > 0) {
    insert(
      prologueAt,
      // As the line probes': var and a hoisted fetch, for functions an import cycle calls early.
      `var __rp$fe,__rp$fx,__rp$fs,__rp$fr,__rp$fi;function __rp$FI(){({e:__rp$fe,x:__rp$fx,s:__rp$fs,r:__rp$fr,i:__rp$fi}=globalThis[Symbol.for("rayprof.funcProbes")].module(${firstFunctionId}))}__rp$FI();`,
      0,
      true,
      -1,
      Infinity,
    );
  }
  let js = false;
  if (options.stripTypes && lang !== "tsx" && lang !== "jsx") {
    const types = typeBlanks(program, source);
    if (types) {
      blanks.push(...types);
      js = true;
    }
  }
  let text = source;
  if (blanks.length || replacements.length) {
    const chars = source.split("");
    for (const [s, e] of blanks) {
      for (let i = s; i < e; i++) if (chars[i] !== "\n" && chars[i] !== "\r") chars[i] = " ";
    }
    for (const [s, e, r] of replacements) {
      for (let i = s; i < e; i++) chars[i] = r[i - s] ?? " ";
    }
    text = chars.join("");
  }
  insertions.sort(compareInsertions);
  let out = "";
  let last = 0;
  for (const ins of insertions) {
    out += text.slice(last, ins.at) + ins.text;
    last = ins.at;
  }
  out += text.slice(last);
  const links = js
    ? moduleLinks(
      out,
      insertions,
      specifierNodes,
      dynamicSpecifierNodes,
      metaStarts,
      dynamicImports,
    )
    : undefined;
  return {
    code: out,
    functions,
    nextSlot: slot,
    warnings,
    ...funcResult,
    ...(firstDecorator < Infinity ? { decorator: at(firstDecorator) } : {}),
    ...(js ? { js, mappings: mappings(text, insertions) } : {}),
    ...(links ? { links } : {}),
  };

  // `<await ray.get>` for `await ray.get(refs)`: what is awaited, when it is a short call.
  function awaitName(arg: Node): string {
    let n = unwrap(arg);
    let prefix = "";
    if (n.type === "NewExpression") prefix = "new ";
    if (n.type === "CallExpression" || n.type === "NewExpression") n = unwrap(n.callee);
    else if (n.type !== "Identifier" && n.type !== "MemberExpression") return "<await>";
    const text = prefix + source.slice(n.start, n.end).replace(/\s+/g, "");
    return text.length <= 40 ? `<await ${text}>` : "<await>";
  }

  // Suspend/resume probes of the function profiler: the frame leaves the stack while the
  // function waits, and each await site counts its waits as a row of its own.
  function functionSuspensions(rec: FnRecord) {
    const node = rec.node;
    const site = (at: number, name: string) => {
      const s = fid++;
      sites.push([s, { file, line: lineOf(at), name, kind: "await" }]);
      return s;
    };
    for (const a of rec.awaits) {
      wrap(a.start, a.end, "__rp$fr(__rp$f,", ")", 1);
      const name = awaitName(a.argument);
      wrap(a.argument.start, a.argument.end, `__rp$fs(__rp$f,${site(a.start, name)},`, ")", 1);
    }
    for (const f of rec.forAwaits) {
      const r = f.right;
      wrap(r.start, r.end, `__rp$fi(__rp$f,${site(f.start, "<for await>")},`, ")", 1);
    }
    if (node.generator) {
      for (const y of rec.yields) {
        if (y.argument) {
          wrap(y.start, y.end, "__rp$fr(__rp$f,", ")", 1);
          wrap(y.argument.start, y.argument.end, "__rp$fs(__rp$f,0,", ")", 1);
        } else wrap(y.start, y.end, "__rp$fr(__rp$f,(__rp$fs(__rp$f,0),", "))", 1);
      }
    }
    // A rejected await resumes the function in its catch or finally block.
    if (node.async) {
      for (const h of rec.handlers) {
        insert(h.start + 1, "__rp$fr(__rp$f);", 0, true, h.start + 1, h.start + 1);
      }
    }
  }
}

/**
 * Source map mappings of `text` with `insertions` (sorted, none with a line break) made in it:
 * a segment at every token, so a position anywhere in the output maps to its original column.
 */
/**
 * The {@linkcode ModuleLinks} of instrumented code `out`, made from `insertions` (sorted) into a
 * text whose offsets are the source's. `undefined` if a span does not land on what it should
 * (then nothing may rely on it).
 */
function moduleLinks(
  out: string,
  insertions: Insertion[],
  specifierNodes: Node[],
  dynamicSpecifierNodes: Node[],
  metaStarts: number[],
  dynamicImports: boolean,
): ModuleLinks | undefined {
  // Output offset of source offset `at`: what was inserted before it moves it on.
  const shifted = (at: number) => {
    let shift = 0;
    for (const ins of insertions) {
      if (ins.at >= at) break;
      shift += ins.text.length;
    }
    return at + shift;
  };
  const spans = (nodes: Node[]) => {
    const list: ModuleLinks["specifiers"] = [];
    for (const n of nodes) {
      const start = shifted(n.start);
      const end = start + (n.end - n.start);
      const literal = out.slice(start, end);
      if (literal.length < 2 || literal.slice(1, -1) !== n.value) return undefined;
      list.push([start, end, n.value]);
    }
    return list;
  };
  const specifiers = spans(specifierNodes);
  const dynamicSpecifiers = spans(dynamicSpecifierNodes);
  if (!specifiers || !dynamicSpecifiers) return undefined;
  const metas: number[] = [];
  for (const at of metaStarts) {
    const start = shifted(at);
    if (!out.startsWith("import.meta", start)) return undefined; // spaced out: not rewritten
    metas.push(start);
  }
  return { specifiers, dynamicSpecifiers, metas, dynamicImports };
}

function mappings(text: string, insertions: Insertion[]): string {
  let out = "";
  let line = 0, prevLine = 0, prevCol = 0, genPrev = 0, lineStart = 0, shift = 0, i = 0;
  let firstInLine = true;
  const token = /[\w$]+|[^\w$\s]+|\n/g;
  for (let m = token.exec(text); m; m = token.exec(text)) {
    const at = m.index;
    if (m[0] === "\n") {
      out += ";";
      line++;
      lineStart = at + 1;
      genPrev = 0;
      shift = 0;
      firstInLine = true;
      continue;
    }
    for (; i < insertions.length && insertions[i].at <= at; i++) {
      if (insertions[i].at >= lineStart) shift += insertions[i].text.length;
    }
    const col = at - lineStart;
    if (!firstInLine) out += ",";
    firstInLine = false;
    out += vlq(col + shift - genPrev) + "A" + vlq(line - prevLine) + vlq(col - prevCol);
    genPrev = col + shift;
    prevLine = line;
    prevCol = col;
  }
  return out;
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function vlq(n: number): string {
  let v = n < 0 ? (-n << 1) | 1 : n << 1;
  let s = "";
  do {
    let digit = v & 31;
    v >>>= 5;
    if (v > 0) digit |= 32;
    s += BASE64[digit];
  } while (v > 0);
  return s;
}

function compareInsertions(a: Insertion, b: Insertion): number {
  if (a.at !== b.at) return a.at - b.at;
  if (a.open !== b.open) {
    // Constructs that end here close before others open, except an empty construct's own pair.
    if (a.start === b.start && a.end === b.end) return a.open ? -1 : 1;
    return a.open ? 1 : -1;
  }
  if (a.open) {
    if (a.level !== b.level) return a.level - b.level; // statements before expressions
    if (a.end !== b.end) return b.end - a.end; // outer first
  } else {
    if (a.level !== b.level) return b.level - a.level; // expressions closed first
    if (a.start !== b.start) return b.start - a.start; // inner first
    if (a.end === b.end) return b.seq - a.seq; // two wraps of one span nest
  }
  return a.seq - b.seq;
}

function unwrap(n: Node): Node {
  while (
    n && (n.type === "ParenthesizedExpression" || n.type === "TSAsExpression" ||
      n.type === "TSSatisfiesExpression" || n.type === "TSNonNullExpression")
  ) n = n.expression;
  return n;
}

function keyName(key: Node, computed: boolean): string {
  if (!computed) {
    if (key.type === "Identifier") return key.name;
    if (key.type === "PrivateIdentifier") return `#${key.name}`;
    if (key.type === "Literal") return String(key.value);
  }
  return "<computed>";
}

function isMarkerComment(type: string, value: string): boolean {
  if (type === "Line") return value.trim() === "@profile";
  // A JSDoc block with an `@profile` tag (at the start of one of its lines), or `/* @profile */`.
  // Code examples inside the comment (``` fences) do not count.
  return /(?:^|\n)[\s*]*@profile(?![\w$-])/.test(value.replace(/```[\s\S]*?```/g, ""));
}

/** Names declared both with `var` and as a function at the top of a body (wrapping it in a block would break them). */
function varFunctionConflict(stmts: Node[]): string | null {
  const fnNames = new Set<string>();
  for (const s of stmts) if (s.type === "FunctionDeclaration" && s.id) fnNames.add(s.id.name);
  if (fnNames.size === 0) return null;
  let found: string | null = null;
  const visit = (n: Node): void => {
    if (found || n === null || typeof n !== "object") return;
    if (Array.isArray(n)) return n.forEach(visit);
    if (FUNCTION_TYPES.has(n.type)) return;
    if (n.type === "VariableDeclaration" && n.kind === "var") {
      for (const d of n.declarations) {
        if (d.id.type === "Identifier" && fnNames.has(d.id.name)) found = d.id.name;
      }
    }
    for (const k in n) if (k !== "type") visit(n[k]);
  };
  visit(stmts);
  return found;
}

function langOf(file: string): "ts" | "tsx" | "js" | "jsx" {
  const m = /\.([cm]?[jt]sx?)$/.exec(file.replace(/[?#].*$/, ""));
  const ext = m?.[1] ?? "ts";
  if (ext.endsWith("tsx")) return "tsx";
  if (ext.endsWith("jsx")) return "jsx";
  if (ext.endsWith("js")) return "js";
  return "ts";
}

function lineStarts(source: string): number[] {
  const starts = [0];
  for (let i = source.indexOf("\n"); i >= 0; i = source.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

/** A function from a character offset of `source` to its 1-based line number. */
export function lineLookup(source: string): (offset: number) => number {
  const starts = lineStarts(source);
  return (offset) => lineIndex(starts, offset) + 1;
}

function lineIndex(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function sourceLines(source: string, starts: number[], first: number, last: number): string[] {
  const out: string[] = [];
  for (let l = first; l <= last && l <= starts.length; l++) {
    const s = starts[l - 1];
    const e = l < starts.length ? starts[l] - 1 : source.length;
    out.push(source.slice(s, e).replace(/\r$/, ""));
  }
  return out;
}

function location(source: string, starts: number[], file: string, offset: number) {
  const i = lineIndex(starts, offset);
  const line = i + 1;
  const column = offset - starts[i] + 1;
  return { file, line, column, codeFrame: codeFrame(source, starts, line, column) };
}

/**
 * Formats the lines around a place with a caret under the column, like compilers do.
 *
 * @param source Source text.
 * @param starts Offsets of line starts.
 * @param line Line (1-based).
 * @param column Column (1-based).
 * @returns Up to five numbered lines and a caret line.
 */
function codeFrame(source: string, starts: number[], line: number, column: number): string {
  const first = Math.max(1, line - 2);
  const last = Math.min(starts.length, line + 2);
  const width = String(last).length;
  const text = sourceLines(source, starts, first, last);
  const out: string[] = [];
  for (let l = first; l <= last; l++) {
    const mark = l === line ? ">" : " ";
    const code = text[l - first];
    out.push(`${mark} ${String(l).padStart(width)} | ${code}`.trimEnd());
    if (l === line) {
      const pad = code.slice(0, column - 1).replace(/[^\t]/g, " ");
      out.push(`  ${" ".repeat(width)} | ${pad}^`);
    }
  }
  return out.join("\n");
}
