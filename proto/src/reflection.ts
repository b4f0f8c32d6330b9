/**
 * Feeds gRPC server reflection from the descriptors protobuf-es already embeds in generated
 * code, so `grpcurl list` and `grpcurl describe` work against any pcapfleet server without the
 * .proto files and without loading them a second time through proto-loader.
 */
import type { DescFile } from "@bufbuild/protobuf";
import { toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ReflectionService } from "@grpc/reflection";

/** The proto-loader package definition @grpc/reflection analyses. */
export type ReflectionPackage = ConstructorParameters<typeof ReflectionService>[0];

/**
 * Every file in `files` and, transitively, every file they import (google/protobuf/timestamp.proto
 * among them), each once, dependencies first. Reflection must return imports with the file
 * that needs them, or grpcurl cannot link the descriptors.
 */
export function withDependencies(files: Iterable<DescFile>): DescFile[] {
  const seen = new Set<string>();
  const ordered: DescFile[] = [];
  const visit = (file: DescFile): void => {
    if (seen.has(file.name)) return;
    seen.add(file.name);
    for (const dependency of file.dependencies) visit(dependency);
    ordered.push(file);
  };
  for (const file of files) visit(file);
  return ordered;
}

/** The serialized `FileDescriptorProto` of each file and of its imports. */
export function fileDescriptorSet(files: Iterable<DescFile>): Buffer[] {
  return withDependencies(files).map((file) => {
    const bytes = toBinary(FileDescriptorProtoSchema, file.proto);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  });
}

/**
 * A package definition for `new ReflectionService(...)`. @grpc/reflection only reads the
 * `fileDescriptorProtos` of each entry and indexes every file by name, so one entry per file
 * is enough; `extra` adds descriptors that exist only in serialized form (the health service's).
 */
export function reflectionPackage(
  files: Iterable<DescFile>,
  extra: readonly Buffer[] = [],
): ReflectionPackage {
  const descriptors = [...fileDescriptorSet(files), ...extra];
  const definition: ReflectionPackage = {};
  descriptors.forEach((bytes, index) => {
    definition[`file${index}`] = {
      format: "Protocol Buffer 3 DescriptorProto",
      type: {},
      fileDescriptorProtos: [bytes],
    };
  });
  return definition;
}
