#!/usr/bin/env node
// `npm run bench`: runs every benchmark module in bench/ (sorted by name), each comparing
// pcapfleet with tcpdump/mergecap in the same run, and writes their Markdown sections to
// docs/BENCHMARKS.md. A module exports `default async function ({ log }) => string` (Markdown).
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = join(root, "bench");
const only = process.argv.slice(2);
const modules = existsSync(dir)
  ? readdirSync(dir)
      .filter((name) => name.endsWith(".bench.mjs"))
      .filter((name) => only.length === 0 || only.some((word) => name.includes(word)))
      .sort()
  : [];
if (modules.length === 0) {
  console.error("bench: no benchmark modules in bench/ yet (they arrive with the PCAP engine, issue #3)");
  process.exit(1);
}
const sections = [];
for (const name of modules) {
  console.log(`bench: ${name}`);
  const module = await import(pathToFileURL(join(dir, name)).href);
  sections.push(await module.default({ log: (line) => console.log(`  ${line}`) }));
}
const cpu = cpus()[0]?.model ?? "unknown CPU";
const header = [
  "# Benchmarks",
  "",
  `Written by \`npm run bench\` on ${new Date().toISOString()}: ${cpus().length} × ${cpu},`,
  `${Math.round(totalmem() / 2 ** 30)} GiB memory, Node ${process.version}. Ratios compare pcapfleet with`,
  "the reference tool on the same bytes in the same run.",
  "",
].join("\n");
writeFileSync(join(root, "docs", "BENCHMARKS.md"), `${header}\n${sections.join("\n\n")}\n`);
console.log("bench: wrote docs/BENCHMARKS.md");
