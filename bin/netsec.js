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
// glibc's malloc keeps what a long command frees in its heap: its mmap threshold grows (to 32 MiB) after
// the first large buffer is freed, so later buffers of up to that size come from a heap it rarely
// gives back (≈ 500 MiB still resident after the fit of a 1 M-row training run). MALLOC_MMAP_THRESHOLD_
// fixes the threshold at 128 KiB: every larger allocation is mapped on its own and returned to the
// system as soon as it is freed. glibc reads it when a process starts, so on Linux, when it is unset,
// netsec replaces itself once with the variable set (process.execve: the same process id, stdio and
// arguments; child processes inherit it). NETSEC_MALLOC_TUNING=0 (or any MALLOC_MMAP_THRESHOLD_ of
// your own) leaves the allocator as it is.
if (
  process.platform === "linux" &&
  typeof process.execve === "function" &&
  process.env.MALLOC_MMAP_THRESHOLD_ === undefined &&
  process.env.NETSEC_MALLOC_TUNING !== "0"
) {
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    ...process.env,
    MALLOC_MMAP_THRESHOLD_: "131072",
  });
}
// Node's compile cache keeps the type-stripped and compiled sources on disk (NODE_COMPILE_CACHE, else
// <os tmpdir>/node-compile-cache): every later command starts in about half the CPU (0.26 against
// 0.57 s for `netsec ingest --help`). It must be on before the sources load, hence here and the import
// below. NODE_DISABLE_COMPILE_CACHE=1 turns it off; a directory it cannot write only means no cache.
module.enableCompileCache?.();
await import("../src/cli/main.ts");
