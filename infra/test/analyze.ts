/**
 * What each entry point's code uses, found by reading the code (TypeScript's compiler API):
 * the links (tables, queues, secrets, the WebSocket API) and the AgentCore actions it can
 * reach, so the contract test can hold infra's declared links to exactly that.
 *
 * Every handler reads its links through one `useCore()` (packages/functions/src/config.ts),
 * so scanning for `Resource.X` would say "everything" for every function. The unit of use
 * is instead the `Core` a use-case is given: `store(core).<entity>` (an entity lives in one
 * table, read from `createStore` in core's store.ts), `core.queue`, `core.runtime.invoke`
 * / `.stop`, `core.pusher`, `core.github`, `core.config.tables.*` / `.queues.*`, and
 * `core.config.github.webhookSecret` (the GitHubWebhookSecret link).
 *
 * Reachability follows identifiers from the entry's `handler` (or its top-level code) to
 * their declarations in the repository, transitively: functions, variables, namespace
 * members, classes and object literals. Calls through an interface (a `FanoutRoute`, a
 * port) have no body to follow; their implementations count where they are constructed or
 * referenced. Module top-level statements of every module reached count too (they run on
 * import). Declarations in node_modules are not followed.
 */
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** `core.<port>` -> the link that port needs. A new member of `Core` must be mapped here. */
const PORTS: Record<string, string | null> = {
  config: null,
  // The document client: a plain command names its table through `core.config.tables.<key>`.
  db: null,
  now: null,
  queue: "TaskQueue",
  runtime: "AgentRuntime",
  pusher: "Realtime",
  github: "GitHubToken",
  webhookQueue: "WebhookQueue",
  // Its pending nudges expire when a task ends (wired in createCore, run by Task's lifecycle).
  taskEnded: "Nudges",
};
/**
 * Libraries whose types the analysis never needs, read as empty modules: their declarations
 * (the AWS SDK's above all) are most of the parsing time, and nothing is followed into them.
 */
const STUBBED = /[\\/]node_modules[\\/](@aws-sdk|@smithy|electrodb|@octokit|@anthropic-ai)[\\/]/;
/** `core.config.queues.<key>` -> link. */
const QUEUES: Record<string, string> = { task: "TaskQueue", dlq: "TaskDlq", webhook: "WebhookQueue" };
/** `core.runtime.<method>` -> IAM action. */
const RUNTIME_ACTIONS: Record<string, string> = {
  invoke: "bedrock-agentcore:InvokeAgentRuntime",
  stop: "bedrock-agentcore:StopRuntimeSession",
};

export interface Usage {
  links: Set<string>;
  actions: Set<string>;
  /** Where each link is used first (file:line), for messages. */
  where: Map<string, string>;
  /** The exported `handler`: its declared parameter count and whether it returns a Promise. */
  handler?: { params: number; async: boolean };
}

export interface AnalyzeOptions {
  /** Source text to use instead of a file's (absolute path -> text): how the tests break a handler. */
  overrides?: Record<string, string>;
}

/** Analyzes entry files (absolute paths). Entries without an exported `handler` start at their top level. */
export function analyze(entries: string[], opts: AnalyzeOptions = {}): Map<string, Usage> {
  const overrides = new Map(Object.entries(opts.overrides ?? {}).map(([k, v]) => [resolve(k), v]));
  const options: ts.CompilerOptions = {
    ...ts.convertCompilerOptionsFromJson(
      JSON.parse(readFileSync(join(ROOT, "tsconfig.base.json"), "utf8")).compilerOptions,
      ROOT,
    ).options,
    noEmit: true,
    skipLibCheck: true,
  };
  const host = ts.createCompilerHost(options, true);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (file, lang, onError, fresh) => {
    const text = overrides.get(resolve(file)) ?? (STUBBED.test(file) ? "export {};" : undefined);
    return text !== undefined
      ? ts.createSourceFile(file, text, lang, true)
      : getSourceFile(file, lang, onError, fresh);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (file) => overrides.has(resolve(file)) || fileExists(file);
  const program = ts.createProgram({ rootNames: entries, options, host });
  const checker = program.getTypeChecker();
  const tableOf = entityTables(program);
  checkCoreMembers(program);

  const result = new Map<string, Usage>();
  for (const entry of entries) {
    const source = program.getSourceFile(entry);
    if (!source) throw new Error(`Cannot read ${entry}`);
    result.set(entry, usage(source));
  }
  return result;

  function usage(source: ts.SourceFile): Usage {
    const found: Usage = { links: new Set(), actions: new Set(), where: new Map() };
    const seen = new Set<ts.Node>();
    const files = new Set<ts.SourceFile>();
    const queue: ts.Node[] = [];
    const reach = (node: ts.Node) => {
      if (seen.has(node)) return;
      seen.add(node);
      queue.push(node);
      const file = node.getSourceFile();
      if (!files.has(file)) {
        files.add(file);
        // Top-level statements that are not declarations run on import.
        for (const statement of file.statements) {
          if (ts.isExpressionStatement(statement)) reach(statement);
        }
      }
    };

    const handler = exportedHandler(source);
    if (handler) {
      reach(handler.declaration);
      found.handler = signature(handler.declaration);
    } else {
      for (const statement of source.statements) reach(statement);
    }
    while (queue.length > 0) visit(queue.pop()!);
    return found;

    function use(link: string, node: ts.Node, action?: string) {
      found.links.add(link);
      if (action) found.actions.add(action);
      if (!found.where.has(link)) found.where.set(link, position(node));
    }

    function visit(node: ts.Node): void {
      if (ts.isTypeNode(node) || ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) return;
      if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) return;
      if (ts.isPropertyAccessExpression(node)) {
        coreAccess(node);
        if (isStoreOf(node.expression)) entity(node.name.text, node);
        visit(node.expression);
        // `Namespace.member`, `Class.static`: follow the member, not the whole namespace.
        const left = symbolOf(node.expression);
        if (
          left &&
          (left.flags & (ts.SymbolFlags.Namespace | ts.SymbolFlags.Class | ts.SymbolFlags.Enum) ||
            importedLazily(left))
        ) {
          follow(node.name);
        }
        return;
      }
      if (ts.isVariableDeclaration(node) && node.initializer && ts.isObjectBindingPattern(node.name)) {
        destructured(node.name, node.initializer);
      }
      if (ts.isIdentifier(node)) {
        if (!isDeclarationName(node)) follow(node);
        return;
      }
      if (ts.isShorthandPropertyAssignment(node)) {
        const value = checker.getShorthandAssignmentValueSymbol(node);
        if (value) followSymbol(value);
        return;
      }
      ts.forEachChild(node, visit);
    }

    function follow(id: ts.Identifier | ts.PrivateIdentifier) {
      const symbol = checker.getSymbolAtLocation(id);
      if (symbol) followSymbol(symbol);
    }

    function followSymbol(symbol: ts.Symbol) {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      for (const declaration of target.declarations ?? []) {
        const file = declaration.getSourceFile();
        if (file.isDeclarationFile || !inRepo(file.fileName)) continue;
        if (ts.isModuleDeclaration(declaration) || ts.isSourceFile(declaration)) continue;
        if (ts.isParameter(declaration)) continue;
        if (ts.isInterfaceDeclaration(declaration) || ts.isTypeAliasDeclaration(declaration)) continue;
        reach(owner(declaration));
      }
    }

    /** `core.<port>`, `core.runtime.<method>`, `core.config.tables|queues.<key>`. */
    function coreAccess(node: ts.PropertyAccessExpression) {
      const member = node.name.text;
      // Checked by name first: typing every expression (ElectroDB's types are heavy) is slow.
      if (!Object.hasOwn(PORTS, member) || !isCore(node.expression)) return;
      const parent = node.parent;
      const next = ts.isPropertyAccessExpression(parent) && parent.expression === node ? parent : undefined;
      if (member === "config" && next) configAccess(next);
      const link = PORTS[member];
      if (!link) return;
      if (member === "runtime") {
        const action = next ? RUNTIME_ACTIONS[next.name.text] : undefined;
        if (!action) {
          throw new Error(
            `core.runtime is used without a direct .invoke/.stop at ${position(node)}: write core.runtime.<method>(...) so the contract test can see which AgentCore action it needs`,
          );
        }
        use(link, node, action);
        return;
      }
      use(link, node);
    }

    function entity(name: string, node: ts.Node) {
      const table = tableOf.get(name);
      if (table) use(table, node);
      else {
        throw new Error(
          `store(core).${name} (${position(node)}) is not an entity createStore binds to a table`,
        );
      }
    }

    function configAccess(config: ts.PropertyAccessExpression) {
      const group = config.name.text;
      const parent = config.parent;
      const key =
        ts.isPropertyAccessExpression(parent) && parent.expression === config ? parent.name.text : undefined;
      if (group === "tables" && key) use(key[0]!.toUpperCase() + key.slice(1), config);
      if (group === "queues" && key && QUEUES[key]) use(QUEUES[key]!, config);
      if (group === "runtimeArn") use("AgentRuntime", config);
      if (group === "github" && key === "webhookSecret") use("GitHubWebhookSecret", config);
      if ((group === "tables" || group === "queues") && !key) {
        throw new Error(`core.config.${group} is used whole at ${position(config)}: name the one you need`);
      }
    }

    /** `const { task, event } = store(core)`, `const { queue } = core`. */
    function destructured(pattern: ts.ObjectBindingPattern, init: ts.Expression) {
      const names = pattern.elements.map((e) => (e.propertyName ?? e.name).getText());
      if (isStoreOf(init)) {
        for (const name of names) entity(name, init);
      } else if (isCore(init)) {
        for (const name of names) {
          if (name === "runtime") {
            throw new Error(
              `core.runtime destructured at ${position(init)}: call core.runtime.<method> directly`,
            );
          }
          if (!Object.hasOwn(PORTS, name))
            throw new Error(`Core has no mapped member "${name}" (${position(init)})`);
          const link = PORTS[name];
          if (link) use(link, init);
        }
      }
    }
  }

  /** A name bound by `const { X } = await import("...")`: its members are followed like a namespace's. */
  function importedLazily(symbol: ts.Symbol): boolean {
    return (symbol.declarations ?? []).some((d) => {
      if (!ts.isBindingElement(d) || !ts.isVariableDeclaration(d.parent.parent)) return false;
      let init = d.parent.parent.initializer;
      if (init && ts.isAwaitExpression(init)) init = init.expression;
      return Boolean(
        init && ts.isCallExpression(init) && init.expression.kind === ts.SyntaxKind.ImportKeyword,
      );
    });
  }

  /** `store(core)`: the call of store.ts's `store` on a Core. */
  function isStoreOf(expression: ts.Expression): boolean {
    if (!ts.isCallExpression(expression) || expression.arguments.length !== 1) return false;
    const callee = symbolOf(expression.expression);
    return (
      callee?.name === "store" &&
      (callee.declarations ?? []).some((d) =>
        d.getSourceFile().fileName.endsWith("packages/core/src/store.ts"),
      ) &&
      isCore(expression.arguments[0]!)
    );
  }

  function isCore(expression: ts.Expression): boolean {
    const symbol = checker.getTypeAtLocation(expression).getSymbol();
    return (
      symbol?.name === "Core" &&
      (symbol.declarations ?? []).some((d) =>
        d.getSourceFile().fileName.endsWith("packages/core/src/core.ts"),
      )
    );
  }

  /** The symbol an identifier names (namespaces are reached through identifiers; chains are not resolved). */
  function symbolOf(expression: ts.Expression): ts.Symbol | undefined {
    if (!ts.isIdentifier(expression)) return undefined;
    const symbol = checker.getSymbolAtLocation(expression);
    if (!symbol) return undefined;
    return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  }

  function exportedHandler(source: ts.SourceFile) {
    const moduleSymbol = checker.getSymbolAtLocation(source);
    const exported =
      moduleSymbol && checker.getExportsOfModule(moduleSymbol).find((s) => s.name === "handler");
    if (!exported) return undefined;
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const declaration = symbol.declarations?.[0];
    return declaration ? { declaration: owner(declaration) } : undefined;
  }

  /**
   * The handler's parameter count and whether it returns a Promise. Read from the function
   * itself when it is written out; for a factory (`handle(app)`), from the factory's declared
   * return type, without instantiating it for the argument (a Hono app's type is costly).
   */
  function signature(declaration: ts.Node) {
    let fn: ts.Node | undefined = declaration;
    if (ts.isVariableDeclaration(fn)) fn = fn.initializer;
    while (
      fn &&
      (ts.isParenthesizedExpression(fn) || ts.isAsExpression(fn) || ts.isSatisfiesExpression(fn))
    ) {
      fn = fn.expression;
    }
    if (fn && (ts.isArrowFunction(fn) || ts.isFunctionExpression(fn) || ts.isFunctionDeclaration(fn))) {
      const isAsync = fn.modifiers?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword) ?? false;
      const signatureOf = checker.getSignatureFromDeclaration(fn);
      const returns = signatureOf && checker.getReturnTypeOfSignature(signatureOf).getSymbol()?.name;
      return { params: fn.parameters.length, async: isAsync || returns === "Promise" };
    }
    if (fn && ts.isCallExpression(fn)) {
      const [factory] = checker.getTypeAtLocation(fn.expression).getCallSignatures();
      const made = factory && checker.getReturnTypeOfSignature(factory).getCallSignatures()[0];
      if (made) {
        const returns = checker.getReturnTypeOfSignature(made).getSymbol()?.name;
        return { params: made.getParameters().length, async: returns === "Promise" };
      }
    }
    return { params: Number.NaN, async: false };
  }
}

/** Every member of `Core` must be mapped in PORTS, or a new port would go unseen. */
function checkCoreMembers(program: ts.Program) {
  const file = program.getSourceFiles().find((f) => f.fileName.endsWith("packages/core/src/core.ts"));
  const core = file?.statements.find(
    (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === "Core",
  );
  if (!core) throw new Error("interface Core not found in packages/core/src/core.ts");
  for (const member of core.members) {
    const name = member.name?.getText();
    if (name && !Object.hasOwn(PORTS, name)) {
      throw new Error(`Core has a member "${name}" that infra/test/analyze.ts does not map to a link`);
    }
  }
}

/** The table each `store(core).<entity>` is bound to, read from `createStore` in core's store.ts. */
function entityTables(program: ts.Program): Map<string, string> {
  const file = program.getSourceFiles().find((f) => f.fileName.endsWith("packages/core/src/store.ts"));
  if (!file) throw new Error("packages/core/src/store.ts is not part of the program");
  const tables = new Map<string, string>();
  const visit = (node: ts.Node) => {
    if (ts.isFunctionDeclaration(node) && node.name?.text === "createStore") {
      // const { tasks, events, ... } = config.tables
      const keys = new Set<string>();
      node.body?.statements.forEach((s) => {
        if (!ts.isVariableStatement(s)) return;
        for (const d of s.declarationList.declarations) {
          if (ts.isObjectBindingPattern(d.name) && d.initializer?.getText().endsWith(".tables")) {
            for (const e of d.name.elements) keys.add(e.name.getText());
          }
        }
      });
      // `return { task: TaskEntity(client, tasks), ... }`, or each built on first use:
      // `return onFirstUse({ task: () => TaskEntity(client, tasks), ... })`.
      let ret = node.body?.statements.find(ts.isReturnStatement)?.expression;
      if (ret && ts.isCallExpression(ret) && ret.arguments.length === 1) ret = ret.arguments[0];
      if (!ret || !ts.isObjectLiteralExpression(ret))
        throw new Error("createStore must return an object literal (or one passed to a single call)");
      for (const p of ret.properties) {
        if (!ts.isPropertyAssignment(p)) continue;
        const build = ts.isArrowFunction(p.initializer) ? p.initializer.body : p.initializer;
        if (!ts.isCallExpression(build)) continue;
        const key = build.arguments.map((a) => a.getText()).find((a) => keys.has(a));
        if (key) tables.set(p.name.getText(), key[0]!.toUpperCase() + key.slice(1));
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  if (tables.size === 0) throw new Error("No entity of createStore is bound to a table");
  return tables;
}

function owner(declaration: ts.Node): ts.Node {
  // A binding element or variable is reached through its whole declaration (the initializer runs).
  let node = declaration;
  while (ts.isBindingElement(node) || ts.isObjectBindingPattern(node) || ts.isArrayBindingPattern(node)) {
    node = node.parent;
  }
  return node;
}

function isDeclarationName(id: ts.Identifier): boolean {
  const parent = id.parent;
  return (
    (ts.isPropertyAssignment(parent) && parent.name === id) ||
    (ts.isMethodDeclaration(parent) && parent.name === id) ||
    (ts.isGetAccessorDeclaration(parent) && parent.name === id) ||
    (ts.isSetAccessorDeclaration(parent) && parent.name === id) ||
    (ts.isPropertyDeclaration(parent) && parent.name === id) ||
    (ts.isFunctionDeclaration(parent) && parent.name === id) ||
    (ts.isClassDeclaration(parent) && parent.name === id) ||
    (ts.isVariableDeclaration(parent) && parent.name === id) ||
    (ts.isParameter(parent) && parent.name === id) ||
    (ts.isBindingElement(parent) && (parent.name === id || parent.propertyName === id)) ||
    (ts.isLabeledStatement(parent) && parent.label === id) ||
    (ts.isBreakOrContinueStatement(parent) && parent.label === id)
  );
}

function inRepo(file: string): boolean {
  const rel = relative(ROOT, file);
  return !rel.startsWith("..") && !rel.split(/[\\/]/).includes("node_modules");
}

function position(node: ts.Node): string {
  const file = node.getSourceFile();
  const { line } = file.getLineAndCharacterOfPosition(node.getStart());
  return `${relative(ROOT, file.fileName)}:${line + 1}`;
}
