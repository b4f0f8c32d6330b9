/**
 * PCAP jobs: the body and its filter (`spec.ts`), targets (`routing.ts`), the durable queue
 * (`queue.ts`), the engine that runs tasks and merges (`engine.ts`, `task-runner.ts`,
 * `finalize.ts`), results and their retention, and the REST routes.
 */
export { type AgentClients, createAgentClients } from "./agent-clients.js";
export { type JobsConfig, jobsConfigSchema } from "./config.js";
export { createJobEngine, type JobEngine, type JobEngineDeps } from "./engine.js";
export { coverageOf, estimateJob, type JobEstimate, type SensorEstimate } from "./estimate.js";
export { jobOutcome } from "./finalize.js";
export { checkJobId, createJobStore, type JobStore } from "./job-store.js";
export { applyRetention, createResultRetention } from "./retention.js";
export { createJobRoutes, downloadName, type JobRoutesDeps, ownJobRule } from "./routes.js";
export { resolveTargets, type Target } from "./routing.js";
export { checkFilter, effectiveFilter, jobSpecSchema } from "./spec.js";
export { windowNs } from "./task-runner.js";
export * from "./types.js";
