export * from "./cli.js";
export * from "./config.js";
export * from "./errors.js";
export * from "./log.js";
export * from "./tls-config.js";
export * from "./version.js";
