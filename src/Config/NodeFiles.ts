// Submodules, not the package index: the index loads every Node integration (Redis and cluster clients included).
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import type { FileSystem, Path } from "effect"
import { Layer } from "effect"

/**
 * The file system and path services of Node, for the few kernel parts that read files (the configuration,
 * the migration files). Decided here once, so the kernel's layers stay usable without a platform layer.
 */
export const layer: Layer.Layer<FileSystem.FileSystem | Path.Path> = Layer.merge(NodeFileSystem.layer, NodePath.layer)
