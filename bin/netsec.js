#!/usr/bin/env node
// Entry point for `npx netsec`: npm puts the project's pinned Node 24 (devDependency `node`) first on
// PATH, which runs the TypeScript sources directly (native type stripping). Refuse older runtimes early
// with a clear message instead of a syntax error.
import module from "node:module";

const [major] = process.versions.node.split(".").map(Number);
if (major < 22) {
  process.stderr.write(
    `netsec needs Node.js >= 22 (found ${process.version}). Run it through npm (npx netsec / npm run netsec), which uses the project's pinned Node 24.\n`,
  );
  process.exit(2);
}
// Node's compile cache keeps the type-stripped and compiled sources on disk (NODE_COMPILE_CACHE, else
// <os tmpdir>/node-compile-cache): every later command starts in about half the CPU (0.26 against
// 0.57 s for `netsec ingest --help`). It must be on before the sources load, hence here and the import
// below. NODE_DISABLE_COMPILE_CACHE=1 turns it off; a directory it cannot write only means no cache.
module.enableCompileCache?.();
await import("../src/cli/main.ts");
