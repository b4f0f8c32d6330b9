#!/usr/bin/env node
// Launcher: runs the compiled CLI, or says how to build it when dist/ is missing. The build also
// bundles the CLI's offline commands into one file (ADR 0012: loading ~55 small modules cost a
// fresh process 35-45 ms); it is used while none of the files it was made of is newer than it.
import { readFileSync, statSync } from "node:fs";

const dist = new URL("../dist/cli/", import.meta.url);

/** The bundle when it is up to date, else the compiled modules (a `tsc -b` alone leaves it stale). */
function entry() {
  try {
    const made = statSync(new URL("pcapfleet-agent.bundle.js", dist)).mtimeMs;
    const { inputs } = JSON.parse(readFileSync(new URL("pcapfleet-agent.bundle.json", dist), "utf8"));
    const stale = inputs.some((input) => statSync(new URL(input, dist)).mtimeMs > made);
    return stale ? "pcapfleet-agent.js" : "pcapfleet-agent.bundle.js";
  } catch {
    return "pcapfleet-agent.js";
  }
}

import(new URL(entry(), dist).href)
  .then((cli) => cli.main(process.argv.slice(2)))
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
