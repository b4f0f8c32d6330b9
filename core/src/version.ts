import { readFileSync } from "node:fs";

let cached: string | undefined;

/** The pcapfleet version, read from this package's manifest on first use. */
export function pcapfleetVersion(): string {
  cached ??= (
    JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
  ).version;
  return cached;
}
