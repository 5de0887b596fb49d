import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Tests run TypeScript directly; worker threads spawned by the code under test run .ts files
    // through Node 24's type stripping, so the pinned Node must be the one on PATH (npm scripts do that).
    pool: "forks",
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
