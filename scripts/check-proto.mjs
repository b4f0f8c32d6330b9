#!/usr/bin/env node
// `npm run check:proto`: fails when the .proto contracts break buf lint or buf format, or when
// the committed generated code (proto/src/gen) differs from what the .proto files generate.
// Regenerates into a temporary directory and compares bytes, so it needs neither git (a fresh
// tarball works) nor the network (buf.gen.yaml runs the locally installed protoc-gen-es).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const protoDir = join(root, "proto");
const committedDir = join(protoDir, "src", "gen");
// buf.gen.yaml writes to `src/gen` under the output directory given with --output.
const generatedSubdir = join("src", "gen");
// The npm package's launcher, run by this node, rather than .bin/buf, which is a symlink on
// POSIX but a .cmd shim on Windows.
const bufLauncher = join(root, "node_modules", "@bufbuild", "buf", "bin", "buf");

if (!existsSync(bufLauncher)) {
  console.error("check-proto: buf is not installed; run `npm install` in the repository root first");
  process.exit(1);
}

/** Runs buf in proto/ (buf.yaml and the relative plugin path in buf.gen.yaml expect that). */
function buf(args) {
  const result = spawnSync(process.execPath, [bufLauncher, ...args], { cwd: protoDir, stdio: "inherit" });
  if (result.error) throw result.error;
  return result.status === 0;
}

/** Paths of all files under `dir`, relative to it, with "/" separators, sorted. */
function listFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split("\\").join("/"))
    .sort();
}

const problems = [];
if (!buf(["lint"])) problems.push("buf lint failed (see above)");
if (!buf(["format", "--diff", "--exit-code"])) {
  problems.push(
    "buf format would change .proto files (see the diff above); run `npx buf format -w` in proto/",
  );
}

const outDir = mkdtempSync(join(tmpdir(), "pcapfleet-proto-"));
try {
  if (!buf(["generate", "--output", outDir])) {
    problems.push("buf generate failed (see above)");
  } else {
    const freshDir = join(outDir, generatedSubdir);
    const fresh = listFiles(freshDir);
    const committed = listFiles(committedDir);
    const committedSet = new Set(committed);
    const freshSet = new Set(fresh);
    const stale = [
      ...fresh
        .filter((file) => !committedSet.has(file))
        .map((file) => `  missing:  ${file} (generated, not committed)`),
      ...committed
        .filter((file) => !freshSet.has(file))
        .map((file) => `  obsolete: ${file} (committed, no longer generated)`),
      ...fresh
        .filter((file) => committedSet.has(file))
        .filter((file) => !readFileSync(join(freshDir, file)).equals(readFileSync(join(committedDir, file))))
        .map((file) => `  changed:  ${file}`),
    ];
    if (stale.length > 0) {
      problems.push(
        [
          `proto/src/gen does not match the .proto files (${stale.length} file(s)):`,
          ...stale,
          "  regenerate with `npm run proto` and commit proto/src/gen",
        ].join("\n"),
      );
    }
  }
} finally {
  rmSync(outDir, { recursive: true, force: true });
}

if (problems.length > 0) {
  for (const problem of problems) console.error(`check-proto: ${problem}`);
  process.exit(1);
}
console.log("check-proto: lint, format and generated code are up to date");
