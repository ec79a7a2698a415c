/**
 * TypeScript to JavaScript by blanking: the ranges of a module's TypeScript-only syntax (types,
 * interfaces, `as`, `!`, modifiers, overloads, ...), to be replaced by spaces so every line and
 * column stays where it was. Under Deno this spares the profiler loading oxc-transform (its load
 * hook must return JavaScript) for the modules it can handle.
 *
 * Only erasable syntax is blanked. A module with anything that needs a real transform — enums,
 * namespaces with values, parameter properties, `import x = require()`, `export =`, JSX, imports
 * that TypeScript would drop because they are only used as types — gets `undefined`, and the
 * caller transpiles it with oxc-transform as before.
 *
 * @module
 */

// deno-lint-ignore no-explicit-any
type Node = any;

/** Declarations with nothing left at run time. */
const TYPE_ONLY = new Set([
  "TSInterfaceDeclaration",
  "TSTypeAliasDeclaration",
  "TSDeclareFunction",
  "TSIndexSignature",
  "TSNamespaceExportDeclaration",
  "TSAbstractMethodDefinition",
  "TSAbstractPropertyDefinition",
  "TSAbstractAccessorProperty",
]);

/** Constructs that need a real transform. */
const NEEDS_TRANSFORM = new Set([
  "TSParameterProperty",
  "TSImportEqualsDeclaration",
  "TSExportAssignment",
  "JSXElement",
  "JSXFragment",
  "AccessorProperty",
]);

/** Properties that hold only types. */
const TYPE_KEYS = new Set([
  "typeAnnotation",
  "returnType",
  "typeParameters",
  "typeArguments",
  "superTypeArguments",
  "superTypeParameters",
]);

const MODIFIERS = new Set(["public", "private", "protected", "readonly", "override", "abstract"]);

class NeedsTransform extends Error {}

/**
 * The ranges to blank to turn a TypeScript module into JavaScript.
 *
 * @param program The module's syntax tree (oxc-parser, ESTree with TypeScript nodes).
 * @param source The module's text.
 * @returns `[start, end)` offsets, or `undefined` when the module needs a real transform.
 */
export function typeBlanks(program: Node, source: string): [number, number][] | undefined {
  const blanks: [number, number][] = [];
  const valueNames = new Set<string>(); // identifiers read or written as values anywhere
  const declared = new Set<string>(); // top-level value bindings
  const imports: { local: string; node: Node; decl: Node }[] = [];
  const localExports: string[] = [];
  const blank = (start: number, end: number) => {
    if (end > start) blanks.push([start, end]);
  };
  const fail = (): never => {
    throw new NeedsTransform();
  };

  // Blanks a specifier and the comma after it (or before it, for the last one).
  const blankListItem = (list: Node[], i: number) => {
    const node = list[i];
    if (i < list.length - 1) return blank(node.start, list[i + 1].start);
    // The last, before a trailing comma: up to and with that comma (the one before it stays, as
    // the list's trailing comma), never leaving `a, ,`.
    const trailing = source.slice(node.end).match(/^(?:\s|\/\*[\s\S]*?\*\/|\/\/[^\n]*)*,/);
    if (trailing) return blank(node.start, node.end + trailing[0].length);
    const comma = i > 0 ? source.lastIndexOf(",", node.start) : -1;
    blank(comma > (i > 0 ? list[i - 1].end - 1 : -1) ? comma : node.start, node.end);
  };

  // Keywords such as `private readonly` between `from` and `to`.
  const blankModifiers = (from: number, to: number) => {
    const re = /[A-Za-z_$][\w$]*/g;
    re.lastIndex = from;
    for (let m = re.exec(source); m && m.index < to; m = re.exec(source)) {
      if (MODIFIERS.has(m[0])) blank(m.index, m.index + m[0].length);
    }
  };

  // The `?` or `!` right after a name (`x?: T`, `y!: T`), if there is one.
  const blankMark = (after: number, limit: number) => {
    let i = after;
    while (i < limit && /\s/.test(source[i])) i++;
    if (source[i] === "?" || source[i] === "!") blank(i, i + 1);
  };

  const statement = (node: Node, top: boolean) => {
    switch (node.type) {
      case "ImportDeclaration":
        if (node.importKind === "type") return blank(node.start, node.end);
        if (node.phase) fail();
        node.specifiers.forEach((s: Node, i: number, list: Node[]) => {
          if (s.importKind === "type") blankListItem(list, i);
          else imports.push({ local: s.local.name, node: s, decl: node });
        });
        if (
          node.specifiers.length > 0 &&
          node.specifiers.every((s: Node) => s.importKind === "type")
        ) {
          fail(); // TypeScript drops the whole import; keeping `import {} from` would load it
        }
        return;
      case "ExportNamedDeclaration":
        if (node.exportKind === "type") return blank(node.start, node.end);
        if (node.declaration) {
          const d = node.declaration;
          if (isTypeOnly(d)) return blank(node.start, node.end);
          return statement(d, top);
        }
        node.specifiers.forEach((s: Node, i: number, list: Node[]) => {
          if (s.exportKind === "type") blankListItem(list, i);
          else if (!node.source) localExports.push(s.local.name ?? s.local.value);
        });
        if (
          node.specifiers.length > 0 && node.specifiers.every((s: Node) => s.exportKind === "type")
        ) {
          fail();
        }
        return;
      case "ExportDefaultDeclaration":
        if (isTypeOnly(node.declaration)) return blank(node.start, node.end);
        if (node.declaration.type === "Identifier") localExports.push(node.declaration.name);
        return visit(node.declaration, top);
      case "ExportAllDeclaration":
        if (node.exportKind === "type") return blank(node.start, node.end);
        return;
    }
    if (isTypeOnly(node)) return blank(node.start, node.end);
    if (top) {
      if (node.type === "VariableDeclaration") {
        for (const d of node.declarations) bindingNames(d.id, (n) => declared.add(n));
      } else if (
        (node.type === "FunctionDeclaration" || node.type === "ClassDeclaration") && node.id
      ) {
        declared.add(node.id.name);
      }
    }
    visit(node, false);
  };

  const visit = (node: Node, top: boolean): void => {
    if (node === null || typeof node !== "object") return;
    if (Array.isArray(node)) {
      for (const n of node) visit(n, top);
      return;
    }
    const type: string | undefined = node.type;
    if (type === undefined) return;
    if (NEEDS_TRANSFORM.has(type)) fail();
    if (type === "TSEnumDeclaration" || type === "TSModuleDeclaration") {
      if (!node.declare) fail();
      return blank(node.start, node.end);
    }
    if (TYPE_ONLY.has(type)) return blank(node.start, node.end);
    if (type.startsWith("TS") && !TS_EXPRESSIONS.has(type)) fail(); // unknown TypeScript node
    switch (type) {
      case "Program":
        for (const s of node.body) statement(s, true);
        return;
      case "BlockStatement":
      case "StaticBlock":
        for (const s of node.body) statement(s, false);
        return;
      case "ImportDeclaration":
      case "ExportNamedDeclaration":
      case "ExportDefaultDeclaration":
      case "ExportAllDeclaration":
        return statement(node, top);
      case "VariableDeclaration":
        if (node.declare) return blank(node.start, node.end);
        break;
      case "VariableDeclarator":
        if (node.definite) blankMark(node.id.start + idLength(node.id), node.id.end);
        break;
      case "ClassDeclaration":
      case "ClassExpression":
        if (node.declare) return blank(node.start, node.end);
        if (node.abstract) blankModifiers(node.start, node.id?.start ?? node.body.start);
        if (node.implements?.length) {
          const kw = source.lastIndexOf("implements", node.implements[0].start);
          blank(kw, node.implements[node.implements.length - 1].end);
        }
        break;
      case "PropertyDefinition":
      case "MethodDefinition": {
        if (node.declare) return blank(node.start, node.end);
        if (type === "MethodDefinition" && !node.value.body) return blank(node.start, node.end);
        const from = node.decorators?.length ? node.decorators.at(-1).end : node.start;
        const keyStart = node.computed ? source.lastIndexOf("[", node.key.start) : node.key.start;
        blankModifiers(from, keyStart);
        const keyEnd = node.computed ? source.indexOf("]", node.key.end) + 1 : node.key.end;
        if (node.optional || node.definite) {
          const limit = type === "PropertyDefinition"
            ? (node.typeAnnotation?.start ?? node.value?.start ?? node.end)
            : node.value.start + 1;
          blankMark(keyEnd, limit);
        }
        break;
      }
      case "Identifier":
        if (node.typeAnnotation || node.optional) {
          if (node.name === "this") fail(); // a `this` parameter: its comma must go too
          if (node.optional) {
            blankMark(node.start + node.name.length, node.typeAnnotation?.start ?? node.end);
          }
        } else {
          valueNames.add(node.name);
        }
        break;
      case "TSAsExpression":
      case "TSSatisfiesExpression":
        visit(node.expression, false);
        blank(node.expression.end, node.end);
        return guardNextLine(node.end);
      case "TSNonNullExpression":
        visit(node.expression, false);
        if (source[node.end - 1] !== "!") fail();
        return blank(node.end - 1, node.end);
      case "TSTypeAssertion":
        if (source[node.start] !== "<") fail();
        blank(node.start, node.expression.start);
        return visit(node.expression, false);
      case "TSInstantiationExpression":
        visit(node.expression, false);
        return blank(node.expression.end, node.end);
      case "ArrowFunctionExpression":
        if (
          node.returnType && source.slice(node.returnType.start, node.body.start).includes("\n")
        ) {
          fail(); // JavaScript allows no line break before `=>`
        }
        break;
    }
    // Names that are not references: `a.b`'s `b`, `{ b: 1 }`'s `b`, a class member's name.
    const nameOnly = !node.computed && !node.shorthand &&
      (type === "MemberExpression" || type === "Property" || type === "PropertyDefinition" ||
        type === "MethodDefinition");
    for (const key in node) {
      if (key === "type" || key === "start" || key === "end" || key === "implements") continue;
      if (nameOnly && (key === "key" || key === "property")) continue;
      const value = node[key];
      if (value === null || typeof value !== "object") continue;
      if (TYPE_KEYS.has(key) && !Array.isArray(value) && value.type) {
        blank(value.start, value.end);
        continue;
      }
      visit(value, false);
    }
  };

  // After `x as T` at the end of a line, a next line starting with `(`, `[` or a template would
  // continue the expression once `as T` is gone.
  const guardNextLine = (end: number) => {
    let i = end;
    while (i < source.length && /[ \t]/.test(source[i])) i++;
    if (source[i] !== "\n" && source[i] !== "\r") return;
    while (i < source.length && /\s/.test(source[i])) i++;
    if ("([`+-/".includes(source[i] ?? "")) fail();
  };

  try {
    visit(program, true);
  } catch (error) {
    if (error instanceof NeedsTransform) return undefined;
    throw error;
  }
  // TypeScript drops imports used only as types, and exports of names that are only types; the
  // names are not resolved by scope here, so any doubt leaves it to the real transform.
  for (const imp of imports) if (!valueNames.has(imp.local)) return undefined;
  for (const name of localExports) {
    if (!declared.has(name) && !imports.some((i) => i.local === name)) return undefined;
  }
  return blanks;
}

/** TypeScript expression nodes that {@linkcode typeBlanks} handles itself. */
const TS_EXPRESSIONS = new Set([
  "TSAsExpression",
  "TSSatisfiesExpression",
  "TSNonNullExpression",
  "TSTypeAssertion",
  "TSInstantiationExpression",
  "TSEnumDeclaration",
  "TSModuleDeclaration",
]);

function isTypeOnly(node: Node): boolean {
  return TYPE_ONLY.has(node.type) ||
    ((node.type === "TSEnumDeclaration" || node.type === "TSModuleDeclaration" ||
      node.type === "VariableDeclaration" || node.type === "ClassDeclaration") && node.declare);
}

function idLength(id: Node): number {
  return id.type === "Identifier" ? id.name.length : id.end - id.start;
}

/**
 * Calls `add` with each name a binding pattern declares (`a`, `{ b, c: [d] }`, `...e`, `f = 1`).
 * Shared with the REPL's transform.
 */
export function bindingNames(pattern: Node, add: (name: string) => void): void {
  if (!pattern) return;
  switch (pattern.type) {
    case "Identifier":
      add(pattern.name);
      return;
    case "ObjectPattern":
      for (const p of pattern.properties) {
        bindingNames(p.type === "RestElement" ? p : p.value, add);
      }
      return;
    case "ArrayPattern":
      for (const e of pattern.elements) bindingNames(e, add);
      return;
    case "RestElement":
      return bindingNames(pattern.argument, add);
    case "AssignmentPattern":
      return bindingNames(pattern.left, add);
  }
}
