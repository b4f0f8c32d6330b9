#!/usr/bin/env node
// Launcher: runs the compiled CLI, or says how to build it when dist/ is missing.
import("../dist/cli/pcapfleet-agent.js")
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
