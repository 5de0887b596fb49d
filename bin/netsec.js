#!/usr/bin/env node
// Entry point for `npx netsec`: npm puts the project's pinned Node 24 (devDependency `node`) first on
// PATH, which runs the TypeScript sources directly (native type stripping). Refuse older runtimes early
// with a clear message instead of a syntax error.
const [major] = process.versions.node.split(".").map(Number);
if (major < 22) {
  process.stderr.write(
    `netsec needs Node.js >= 22 (found ${process.version}). Run it through npm (npx netsec / npm run netsec), which uses the project's pinned Node 24.\n`,
  );
  process.exit(2);
}
await import("../src/cli/main.ts");
