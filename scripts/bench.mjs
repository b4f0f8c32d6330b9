#!/usr/bin/env node
// `npm run bench [-- WORD...]`: runs the benchmark modules in bench/ (sorted by name; with words,
// only the module a word names exactly, else those whose file name contains it), each comparing pcapfleet with tcpdump/mergecap in the
// same run. A module exports `default async function ({ log }) => string` (its Markdown section).
// Each section is stored in .bench/results/<module>.md, and docs/BENCHMARKS.md is rebuilt from
// every stored section of a module that still exists: running one benchmark keeps the others'
// latest figures.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = join(root, "bench");
const results = join(root, ".bench", "results");
const only = process.argv.slice(2);
const all = existsSync(dir)
  ? readdirSync(dir)
      .filter((name) => name.endsWith(".bench.mjs"))
      .sort()
  : [];
const base = (name) => name.replace(/\.bench\.mjs$/, "");
// A word naming a module exactly picks that one alone (`slice` is not also `grpc-slice`).
const picks = (word, name) => (all.some((n) => base(n) === word) ? base(name) === word : name.includes(word));
const modules = all.filter((name) => only.length === 0 || only.some((word) => picks(word, name)));
if (modules.length === 0) {
  console.error(
    all.length === 0
      ? "bench: no benchmark modules in bench/ yet (they arrive with the PCAP engine, issue #3)"
      : `bench: no module matches ${only.join(", ")} (have: ${all.join(", ")})`,
  );
  process.exit(1);
}
mkdirSync(results, { recursive: true });
const cpu = cpus()[0]?.model ?? "unknown CPU";
const machine = `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB memory, Node ${process.version}`;
for (const name of modules) {
  console.log(`bench: ${name}`);
  const started = performance.now();
  const module = await import(pathToFileURL(join(dir, name)).href);
  const section = await module.default({ log: (line) => console.log(`  ${line}`) });
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  const stamp = `<!-- ${name}: ${new Date().toISOString()}, ${machine}, ${seconds} s -->`;
  writeFileSync(join(results, `${name.replace(/\.bench\.mjs$/, "")}.md`), `${stamp}\n${section.trim()}\n`);
}
// Every stored section whose module still exists, in module order.
const sections = all
  .map((name) => join(results, `${name.replace(/\.bench\.mjs$/, "")}.md`))
  .filter((path) => existsSync(path))
  .map((path) => readFileSync(path, "utf8").trim());
const header = [
  "# Benchmarks",
  "",
  `Written by \`npm run bench\` on ${new Date().toISOString()}: ${machine}.`,
  "Each section comes from its module's latest run (the date is in the comment above it); ratios",
  "compare pcapfleet with the reference tool on the same bytes in the same run.",
  "",
].join("\n");
writeFileSync(join(root, "docs", "BENCHMARKS.md"), `${header}\n${sections.join("\n\n")}\n`);
console.log(
  `bench: wrote docs/BENCHMARKS.md (${sections.length} section${sections.length === 1 ? "" : "s"})`,
);
