#!/usr/bin/env node
/**
 * The `netsec` command line. argv → config → wiring → run; every command has --help, and --json prints
 * one JSON object as the last line of stdout.
 */
import { readFileSync } from "node:fs";
import { Command } from "commander";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

type Register = (program: Command) => void;

/**
 * Every command, in help order, and how to load its module. A command line naming one command
 * loads only that module: the others' imports (onnxruntime, fastify, kafka, …) cost a second of
 * start-up and ~100 MB that `netsec ingest` has no use for.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  datasets: async () => (await import("./commands/datasets.ts")).registerDatasets,
  schema: async () => (await import("./commands/schema.ts")).registerSchema,
  ingest: async () => (await import("./commands/ingest.ts")).registerIngest,
  store: async () => (await import("./commands/store.ts")).registerStore,
  push: async () => (await import("./commands/push.ts")).registerPush,
  validate: async () => (await import("./commands/validate.ts")).registerValidate,
  train: async () => (await import("./commands/train.ts")).registerTrain,
  predict: async () => (await import("./commands/predict.ts")).registerPredict,
  flows: async () => (await import("./commands/flows.ts")).registerFlows,
  serve: async () => (await import("./commands/serve.ts")).registerServe,
  stream: async () => (await import("./commands/stream.ts")).registerStream,
  produce: async () => (await import("./commands/produce.ts")).registerProduce,
  runs: async () => (await import("./commands/runs.ts")).registerRuns,
  models: async () => (await import("./commands/models.ts")).registerModels,
  monitor: async () => (await import("./commands/monitor.ts")).registerMonitor,
};

/** The program with the command `argv` names, or with every command (help, a typo, --version). */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command();
  program
    .name("netsec")
    .description("machine-learning threat detection for network traffic data")
    .version(pkg.version)
    .showHelpAfterError("(run with --help for usage)")
    .configureHelp({ sortSubcommands: false });
  const named = argv[2];
  const load =
    named !== undefined && Object.hasOwn(COMMANDS, named) ? [COMMANDS[named]!] : Object.values(COMMANDS);
  for (const register of await Promise.all(load.map((l) => l()))) register(program);
  return program;
}

await (await buildProgram(process.argv)).parseAsync(process.argv);
