#!/usr/bin/env node
// Launcher: runs the compiled CLI, or says how to build it when dist/ is missing. The build also
// bundles the CLI's offline commands into one file (ADR 0012: loading ~55 small modules cost a
// fresh process 35-45 ms); it is used while none of the files it was made of is newer than it.
// The bundle runs as a classic script through vm.Script with a V8 code cache kept in the user's
// cache directory (ADR 0012, "Code cache"), else as an ES module. Built-ins are taken with
// getBuiltinModule, not imported: an ES import of a built-in makes Node build a facade reading
// all its exports, and `node:fs`'s load the streams stack.
const { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } = process.getBuiltinModule("node:fs");

const dist = new URL("../dist/cli/", import.meta.url);

/** True when `name` in dist/cli/ is at least as new as every input of the bundle. */
function fresh(name, inputs) {
  const made = statSync(new URL(name, dist)).mtimeMs;
  return inputs.every((input) => statSync(new URL(input, dist)).mtimeMs <= made);
}

/**
 * "script" (the bundle as a classic script) or "bundle" while up to date, else "modules" (the
 * compiled modules: a `tsc -b` alone leaves the bundle stale).
 */
function entry() {
  try {
    const { inputs } = JSON.parse(readFileSync(new URL("pcapfleet-agent.bundle.json", dist), "utf8"));
    if (!fresh("pcapfleet-agent.bundle.js", inputs)) return "modules";
    try {
      return fresh("pcapfleet-agent.script.js", inputs) ? "script" : "bundle";
    } catch {
      return "bundle";
    }
  } catch {
    return "modules";
  }
}

/**
 * Where V8's code cache of the script goes (the CLI's filter programs go beside it, see
 * slice-command.ts): $PCAPFLEET_CACHE_DIR, else $XDG_CACHE_HOME/pcapfleet or ~/.cache/pcapfleet;
 * none when PCAPFLEET_CACHE_DIR is set empty or no home is known.
 */
function codeCacheDir(env) {
  const own = env.PCAPFLEET_CACHE_DIR;
  if (own !== undefined) return own === "" ? null : `${own}/v8`;
  if (env.XDG_CACHE_HOME?.startsWith("/")) return `${env.XDG_CACHE_HOME}/pcapfleet/v8`;
  return env.HOME?.startsWith("/") ? `${env.HOME}/.cache/pcapfleet/v8` : null;
}

/**
 * Runs the bundle as a classic script. The code cache is named after what V8 cannot check
 * itself (it accepts any source of the same length): the script's size and CRC-32, Node's
 * version and architecture; V8 checks its own version and flags and rejects a cache made
 * otherwise, and the script then compiles as without one. A cache that is missing or rejected
 * is written after the command, with every function it ran compiled (slice and index only).
 */
async function runScript(argv) {
  const vm = process.getBuiltinModule("node:vm");
  const { crc32 } = process.getBuiltinModule("node:zlib");
  const url = new URL("pcapfleet-agent.script.js", dist);
  const source = readFileSync(url, "utf8");
  // One cache per offline command: V8 keeps the functions a run compiled, and a first run of
  // `--help` would otherwise leave a cache without the slice's code for good.
  const command = ["slice", "index"].includes(argv[0]) ? argv[0] : null;
  const dir = command === null ? null : codeCacheDir(process.env);
  const name = `${command}-${source.length}-${crc32(source).toString(16)}-${process.version}-${process.arch}.bin`;
  let cachedData;
  try {
    if (dir !== null) cachedData = readFileSync(`${dir}/${name}`);
  } catch {
    // no cache yet
  }
  const script = new vm.Script(source, { filename: url.pathname, cachedData });
  const errors = await import("@pcapfleet/core/errors");
  const bundle = new URL("pcapfleet-agent.bundle.js", dist).href;
  const load = (specifier) => import(specifier.startsWith(".") ? new URL(specifier, dist).href : specifier);
  const cli = await script.runInThisContext()(errors, bundle, load);
  const code = await cli.main(argv);
  if (dir !== null && (cachedData === undefined || script.cachedDataRejected === true)) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const temp = `${dir}/${name}.${process.pid}.tmp`;
      writeFileSync(temp, script.createCachedData(), { mode: 0o600 });
      renameSync(temp, `${dir}/${name}`);
    } catch {
      // a cache: the next run compiles again
    }
  }
  return code;
}

const run = entry();
(run === "script"
  ? runScript(process.argv.slice(2))
  : import(new URL(run === "bundle" ? "pcapfleet-agent.bundle.js" : "pcapfleet-agent.js", dist).href).then(
      (cli) => cli.main(process.argv.slice(2)),
    )
)
  .then((code) => {
    process.exitCode = code;
  })
  .catch((error) => {
    if (
      error?.code === "ERR_MODULE_NOT_FOUND" &&
      String(error.message).includes("dist/cli/pcapfleet-agent.js'")
    ) {
      console.error(
        "pcapfleet-agent: not built yet; run `npm install` (or `npm run build`) in the pcapfleet repository",
      );
      process.exitCode = 1;
      return;
    }
    throw error;
  });
