#!/usr/bin/env node
// Builds every workspace: TypeScript project references (incremental, so a no-change build is
// quick), then the agent CLI's offline bundle (ADR 0012), then the dashboard bundle. Run by
// `npm install` (prepare), `npm test`, `npm run demo`.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);

function run(label, command, args, cwd = root) {
  const result = spawnSync(command, args, { cwd, stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`build: ${label} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}

if (!existsSync(bin("tsc"))) {
  // `npm install --omit=dev` or a partial install: nothing to build with, say so plainly.
  console.error("build: TypeScript is not installed; run `npm install` in the repository root first");
  process.exit(1);
}
run("typescript", bin("tsc"), ["-b"]);
await bundleAgentCli();
if (existsSync(join(root, "dashboard", "index.html"))) {
  run("dashboard", bin("vite"), ["build", "--logLevel", "warn"], join(root, "dashboard"));
}

/**
 * `pcapfleet-agent`'s offline commands (slice, index) as one file beside the compiled CLI
 * (ADR 0012): the engine is some 50 small ES modules, and resolving and linking them cost a fresh
 * process 35-45 ms of its start-up. Bundled: the CLI's own command files, `@pcapfleet/pcap`, and
 * core's `cli` and `version` modules. Everything else stays an import of its own (packages,
 * `@pcapfleet/core/errors` so its error classes exist once whoever throws them, any other agent
 * module such as the daemon's; relative specifiers stay valid because the bundle sits in the same
 * directory).
 *
 * Node built-ins are taken with `process.getBuiltinModule`, not `import` (ADR 0012, "Built-ins"):
 * an ES import of a built-in makes Node build an ES facade of it, reading every export, and
 * `node:fs`'s getters alone load the whole streams stack. So no module of the offline path may
 * import a built-in as an ES module (the bin does not either).
 *
 * A manifest lists the bundled files: the bin uses the bundle only while none of them is newer (a
 * `tsc -b` alone leaves it stale, and then the unbundled CLI runs). Without esbuild (installed
 * with vite) the bundle is skipped and the unbundled CLI runs.
 */
async function bundleAgentCli() {
  const dir = join(root, "agent", "dist", "cli");
  const outfile = join(dir, "pcapfleet-agent.bundle.js");
  const manifest = join(dir, "pcapfleet-agent.bundle.json");
  const { readFileSync, rmSync, writeFileSync } = await import("node:fs");
  const { isBuiltin } = await import("node:module");
  rmSync(manifest, { force: true });
  rmSync(join(dir, "pcapfleet-agent.script.js"), { force: true });
  let esbuild;
  try {
    esbuild = await import("esbuild");
  } catch {
    console.error("build: esbuild not installed; pcapfleet-agent runs unbundled");
    return;
  }
  const own = new Set(
    ["pcapfleet-agent.js", "slice-command.js", "index-command.js", "run-command.js"].map((n) => join(dir, n)),
  );
  const pcapDist = join(root, "pcap", "dist") + sep;
  const coreDist = join(root, "core", "dist") + sep;
  const coreBundled = new Set(["cli.js", "version.js"].map((n) => join(coreDist, n)));
  const ERRORS = "@pcapfleet/core/errors";
  const keepOut = {
    name: "pcapfleet-agent-offline",
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === "entry-point") return undefined;
        if (args.path.startsWith("@pcapfleet/pcap")) return undefined;
        if (args.path === "@pcapfleet/core/cli") return { path: join(coreDist, "cli.js") };
        if (args.path.startsWith(".")) {
          const target = join(dirname(args.importer), args.path);
          if (target === join(coreDist, "errors.js")) return { path: ERRORS, external: true };
          if (args.importer.startsWith(pcapDist) || own.has(target) || coreBundled.has(target)) {
            return { path: target };
          }
        }
        return { path: args.path, external: true };
      });
      // core's version.js finds its package.json from its own URL: keep that URL, relative to the bundle.
      b.onLoad({ filter: /\.js$/ }, (args) => {
        if (!args.path.startsWith(coreDist)) return undefined;
        const own = JSON.stringify(relative(dir, args.path).split(sep).join("/"));
        const text = readFileSync(args.path, "utf8");
        return {
          contents: text.replaceAll("import.meta.url", `new URL(${own}, import.meta.url)`),
          loader: "js",
        };
      });
    },
  };
  const result = await esbuild.build({
    entryPoints: [join(dir, "pcapfleet-agent.js")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: true,
    metafile: true,
    logLevel: "warning",
    plugins: [keepOut],
    banner: { js: "// Generated by scripts/build.mjs (ADR 0012): do not edit." },
  });
  const bundled = takeBuiltins(readFileSync(outfile, "utf8"), isBuiltin);
  writeFileSync(outfile, bundled);
  // Written after the bundle: the bin uses it only while it is as fresh (ADR 0012, "Code cache").
  writeFileSync(join(dir, "pcapfleet-agent.script.js"), classicScript(bundled));
  // Relative to the bundle's directory, as the bin resolves them (the checkout may move).
  const inputs = Object.keys(result.metafile.inputs).map((path) => relative(dir, join(root, path)));
  writeFileSync(manifest, `${JSON.stringify({ inputs }, null, 1)}\n`);
}

/**
 * The bundle's imports of Node built-ins as `process.getBuiltinModule` calls (see
 * bundleAgentCli): `import { a, b as c } from "node:x";` becomes
 * `const { a, b: c } = process.getBuiltinModule("node:x");` on the same line (the source map
 * stays valid), and `import("node:x")` a resolved promise of the module. Any other import form
 * of a built-in fails the build rather than being left as an ES import.
 */
function takeBuiltins(code, isBuiltin) {
  const take = (name) => `process.getBuiltinModule(${JSON.stringify(name)})`;
  const out = code.replace(/^import (.+) from "([^"]+)";$/gm, (line, clause, name) => {
    if (!isBuiltin(name)) return line;
    const named = /^\{([^}]*)\}$/.exec(clause);
    if (named !== null) {
      const bindings = named[1].replace(/\b([\w$]+) as ([\w$]+)/g, "$1: $2");
      return `const {${bindings}} = ${take(name)};`;
    }
    const namespace = /^\* as ([\w$]+)$/.exec(clause) ?? /^([\w$]+)$/.exec(clause);
    if (namespace !== null) return `const ${namespace[1]} = ${take(name)};`;
    throw new Error(`build: cannot rewrite the built-in import: ${line}`);
  });
  const dynamic = out.replace(/\bimport\("([^"]+)"\)/g, (call, name) =>
    isBuiltin(name) ? `Promise.resolve(${take(name)})` : call,
  );
  const left = /^import .* from "(node:[^"]+)";$/m.exec(dynamic);
  if (left !== null) throw new Error(`build: built-in still imported: ${left[0]}`);
  return dynamic;
}

/**
 * The bundle as a classic script, which `vm.Script` can compile with a V8 code cache (ES modules
 * cannot have one before Node 22): one function expression taking what the module got from
 * outside, `(async function (__errors, __url, __import) { ...; return { exports }; })`.
 * `@pcapfleet/core/errors` comes in as `__errors` (the bin imports it: one copy of the error
 * classes), `import.meta.url` as `__url` (the bundle's URL, so relative paths resolve as from
 * the bundle) and `import()` as `__import` (relative to the bundle). Lines are kept, so the
 * bundle's source map still applies. Anything else ES-only left in the text fails the build.
 */
function classicScript(code) {
  let body = code.replace(/^import \{([^}]*)\} from "@pcapfleet\/core\/errors";$/gm, (_, bindings) => {
    return `const {${bindings.replace(/\b([\w$]+) as ([\w$]+)/g, "$1: $2")}} = __errors;`;
  });
  body = body.replaceAll("import.meta.url", "__url").replace(/\bimport\(/g, "__import(");
  body = body.replace(/^export \{([^}]*)\};$/m, (_, names) => {
    const entries = names
      .split(",")
      .map((name) => name.trim())
      .filter((name) => name !== "")
      .map((name) => name.replace(/^([\w$]+) as ([\w$]+)$/, "$2: $1"));
    return `return { ${entries.join(", ")} };`;
  });
  body = body.replace(/^\/\/# sourceMappingURL=.*$/m, "");
  const left = /^(?:import|export)\b.*$|import\.meta/m.exec(body);
  if (left !== null) throw new Error(`build: cannot make a classic script of the bundle: ${left[0]}`);
  return `(async function (__errors, __url, __import) {"use strict";${body}\n})\n//# sourceMappingURL=pcapfleet-agent.bundle.js.map\n`;
}
