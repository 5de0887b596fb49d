import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Tests run TypeScript directly; worker threads spawned by the code under test run .ts files
    // through Node 24's type stripping, so the pinned Node must be the one on PATH (npm scripts do that).
    pool: "forks",
    // Two test files at a time. Vitest's default is one fewer than the cores (1 here), which ran every
    // file one after the other: most files spend their time waiting on a CLI child process, a server or
    // a broker, so a second file in flight fills the idle core (CI's test run: 1,459 s with one worker).
    maxWorkers: 2,
    // Limits against hangs, not speed checks: CI's shared two cores run unit and integration files at
    // once, and CLI tests over real data (NSL-KDD, FerretDB) took 40–85 s there.
    testTimeout: 180_000,
    hookTimeout: 300_000,
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/**/*.test.ts"], exclude: ["test/integration/**"] },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/integration/global-setup.ts"],
          fileParallelism: false,
        },
      },
    ],
  },
});
