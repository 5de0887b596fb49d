#!/usr/bin/env node
/**
 * The `netsec` command line. argv → config → wiring → run; every command has --help, and --json prints
 * one JSON object as the last line of stdout.
 */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { registerDatasets } from "./commands/datasets.ts";
import { registerFlows } from "./commands/flows.ts";
import { registerIngest } from "./commands/ingest.ts";
import { registerModels } from "./commands/models.ts";
import { registerMonitor } from "./commands/monitor.ts";
import { registerPredict } from "./commands/predict.ts";
import { registerProduce } from "./commands/produce.ts";
import { registerPush } from "./commands/push.ts";
import { registerRuns } from "./commands/runs.ts";
import { registerSchema } from "./commands/schema.ts";
import { registerServe } from "./commands/serve.ts";
import { registerStore } from "./commands/store.ts";
import { registerStream } from "./commands/stream.ts";
import { registerTrain } from "./commands/train.ts";
import { registerValidate } from "./commands/validate.ts";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("netsec")
    .description("machine-learning threat detection for network traffic data")
    .version(pkg.version)
    .showHelpAfterError("(run with --help for usage)")
    .configureHelp({ sortSubcommands: false });
  registerDatasets(program);
  registerSchema(program);
  registerIngest(program);
  registerStore(program);
  registerPush(program);
  registerValidate(program);
  registerTrain(program);
  registerPredict(program);
  registerFlows(program);
  registerServe(program);
  registerStream(program);
  registerProduce(program);
  registerRuns(program);
  registerModels(program);
  registerMonitor(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
