/**
 * What every command gets: the parsed config, a logger (stderr), output helpers that respect `--json`
 * (human lines on stdout, or on stderr when --json so that the JSON object is the last line of stdout),
 * and the exit-code policy: 0 ok, 1 a user's mistake, a failed check or an unreachable service, 2 an
 * internal error.
 */
import { type Config, loadConfig } from "../config/env.ts";
import { isNetsecError, NetsecError } from "../core/errors.ts";
import { createLogger, type Logger } from "../core/log.ts";
import { Progress, progressEnabled } from "../core/progress.ts";

export interface Ctx {
  config: Readonly<Config>;
  log: Logger;
  json: boolean;
  /** A human-readable line (stdout, or stderr under --json). */
  say(line: string): void;
  /** Progress on stderr (single updating line on a TTY). */
  progress(msg: string): void;
  /**
   * A rows/s + ETA meter for a long step, shown on the status line (NETSEC_PROGRESS; by default only
   * when stderr is a terminal); null when not shown, so a caller skips the bookkeeping.
   */
  meter(label: string, unit: string, total?: number): Progress | null;
  /** Whether meters are shown (for callers handing a sink further down, as the pipeline). */
  metersOn: boolean;
  /** A progress line to keep on stderr (e.g. each candidate's scores), never overwritten by the next. */
  note(line: string): void;
  /** The machine-readable summary: one JSON object, the last line of stdout. */
  result(obj: unknown): void;
}

export function makeCtx(opts: { json?: boolean }): Ctx {
  const config = loadConfig();
  const log = createLogger(config.NETSEC_LOG_LEVEL);
  const json = Boolean(opts.json);
  const tty = process.stderr.isTTY;
  const metersOn = progressEnabled(config.NETSEC_PROGRESS, tty);
  let lastProgressLen = 0;
  const clearProgress = (): void => {
    if (tty && lastProgressLen > 0) {
      process.stderr.write(`\r${" ".repeat(lastProgressLen)}\r`);
      lastProgressLen = 0;
    }
  };
  const progress = (msg: string): void => {
    if (tty) {
      const s = msg.length > 150 ? `${msg.slice(0, 147)}...` : msg;
      process.stderr.write(`\r${s}${" ".repeat(Math.max(0, lastProgressLen - s.length))}`);
      lastProgressLen = s.length;
    } else process.stderr.write(`${msg}\n`);
  };
  return {
    config,
    log,
    json,
    say(line) {
      clearProgress();
      (json ? process.stderr : process.stdout).write(`${line}\n`);
    },
    progress,
    metersOn,
    meter(label, unit, total) {
      if (!metersOn) return null;
      return new Progress({
        label,
        unit,
        ...(total !== undefined ? { total } : {}),
        sink: progress,
      });
    },
    note(line) {
      clearProgress();
      process.stderr.write(`${line}\n`);
    },
    result(obj) {
      clearProgress();
      if (json) process.stdout.write(`${JSON.stringify(obj)}\n`);
    },
  };
}

/** Run a command body with the exit-code policy and error reporting. */
export async function runCommand(
  opts: { json?: boolean },
  body: (ctx: Ctx) => Promise<number | undefined>,
): Promise<void> {
  let ctx: Ctx | undefined;
  try {
    ctx = makeCtx(opts);
    const code = await body(ctx);
    process.exitCode = code ?? 0;
  } catch (e) {
    const err = isNetsecError(e)
      ? e
      : new NetsecError("INTERNAL", (e as Error)?.message ?? String(e), {}, { cause: e });
    process.stderr.write(`error [${err.code}]: ${err.message}\n`);
    if (err.status === 500 || process.env.NETSEC_DEBUG)
      process.stderr.write(`${(e as Error)?.stack ?? ""}\n`);
    if (opts.json) process.stdout.write(`${JSON.stringify({ ok: false, error: err.toJSON() })}\n`);
    // 1: the user's input or environment (bad data, unreachable server, failed check); 2: our own bug
    process.exitCode = err.status === 500 ? 2 : 1;
  }
}
