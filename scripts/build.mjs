#!/usr/bin/env node
// Builds every workspace: TypeScript project references (incremental, so a no-change build is
// quick), then the dashboard bundle. Run by `npm install` (prepare), `npm test`, `npm run demo`.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
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
if (existsSync(join(root, "dashboard", "index.html"))) {
  run("dashboard", bin("vite"), ["build", "--logLevel", "warn"], join(root, "dashboard"));
}
