/**
 * The one way pcapfleet programs build a gRPC server: their services plus, always, gRPC health
 * checking and server reflection, so load balancers, orchestrators and grpcurl can talk to any
 * agent or collector the same way.
 */
import type { DescFile } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { AppError, ErrorCode, type Logger } from "@pcapfleet/core";
import { HealthImplementation, service as healthService, type ServingStatus } from "grpc-health-check";
import type { ServiceBinding } from "./grpc-handlers.js";
import { reflectionPackage } from "./reflection.js";

/** What the health service answers for a service: SERVING, NOT_SERVING or UNKNOWN. */
export type { ServingStatus } from "grpc-health-check";

/** Fully qualified name of the gRPC health service. */
export const healthServiceName = "grpc.health.v1.Health";

/** Options of {@link createGrpcServer}. */
export interface GrpcServerOptions {
  /** Logger for server faults of the handlers. */
  readonly log: Logger;
  /** Services to serve, each made by `bindService`. */
  readonly services: readonly ServiceBinding[];
  /** Files reflection describes beyond those of `services` (and their imports). */
  readonly reflectionFiles: readonly DescFile[];
  /** grpc-js server options (message size limits, keepalive). */
  readonly serverOptions: grpc.ServerOptions;
}

const defaults: Omit<GrpcServerOptions, "log"> = {
  services: [],
  reflectionFiles: [],
  serverOptions: {},
};

/** A server built by {@link createGrpcServer}. */
export interface GrpcServer {
  /** The grpc-js server; bind it with {@link listen}. */
  readonly server: grpc.Server;
  /**
   * Sets what `grpc.health.v1.Health` answers for `service` (a full name such as
   * `pcapfleet.v1.CaptureService`, or "" for the whole server); watchers are notified.
   */
  setServingStatus(service: string, status: ServingStatus): void;
  /** Reports NOT_SERVING for everything, then shuts down as {@link shutdown} does. */
  shutdown(deadlineMs?: number): Promise<void>;
}

/**
 * Creates a gRPC server with the given services, health checking and reflection (v1 and
 * v1alpha). Every service, and "" for the server as a whole, starts SERVING; a program that
 * must warm up first sets NOT_SERVING until it is ready.
 */
export function createGrpcServer(
  options: Partial<GrpcServerOptions> & Pick<GrpcServerOptions, "log">,
): GrpcServer {
  const config: GrpcServerOptions = { ...defaults, ...options };
  const server = new grpc.Server(config.serverOptions);
  const names = new Set<string>([""]);
  for (const binding of config.services) {
    server.addService(binding.definition, binding.handlers(config.log));
    names.add(binding.service.typeName);
  }

  const health = new HealthImplementation();
  for (const name of names) health.setStatus(name, "SERVING");
  health.addToServer(server);

  const files = [...config.services.map((binding) => binding.service.file), ...config.reflectionFiles];
  const reflection = new ReflectionService(reflectionPackage(files, healthDescriptors()), {
    // Only what this server really serves, though a .proto file may declare more services.
    services: [...names].filter((name) => name !== "").concat(healthServiceName),
  });
  reflection.addToServer(server);

  return {
    server,
    setServingStatus(service, status) {
      names.add(service);
      health.setStatus(service, status);
    },
    async shutdown(deadlineMs) {
      for (const name of names) health.setStatus(name, "NOT_SERVING");
      await shutdown(server, deadlineMs);
    },
  };
}

/** The health service's own file descriptors, which grpc-health-check has only in serialized form. */
function healthDescriptors(): Buffer[] {
  // proto-loader gives every message type the descriptors of all files it loaded.
  const first = Object.values(healthService)[0];
  return first === undefined ? [] : first.requestType.fileDescriptorProtos;
}

/**
 * Binds `server` to `address` (host:port; port 0 picks a free one) and starts serving.
 * Resolves to the bound port; fails with an `unavailable` AppError when the address cannot be
 * bound (in use, not local).
 */
export function listen(
  server: grpc.Server,
  address: string,
  credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
): Promise<number> {
  return new Promise((resolve, reject) => {
    // grpc-js starts serving once bound; Server#start is deprecated and not needed.
    server.bindAsync(address, credentials, (error, port) => {
      if (error === null) resolve(port);
      else
        reject(
          new AppError(ErrorCode.Unavailable, `cannot listen on ${address}: ${error.message}`, {
            cause: error,
          }),
        );
    });
  });
}

/**
 * Stops accepting calls and waits up to `deadlineMs` for running ones (long slices, heartbeat
 * streams) to finish, then cancels whatever is left, so a stop never hangs on a stuck peer.
 */
export function shutdown(server: grpc.Server, deadlineMs = 5_000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, deadlineMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
