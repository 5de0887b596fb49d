/**
 * Logging: pino to stderr (stdout is for results and `--json`). Secrets are redacted by path, and the
 * CLI never passes raw credentials to the logger in the first place.
 */
import { type Logger, pino } from "pino";

export type { Logger };

export function createLogger(level: string = "info", name = "netsec"): Logger {
  return pino(
    {
      name,
      level,
      redact: {
        paths: [
          "password",
          "token",
          "authorization",
          "*.password",
          "*.token",
          "*.authorization",
          "headers.authorization",
          "req.headers.authorization",
          "MLFLOW_TRACKING_PASSWORD",
          "MLFLOW_TRACKING_TOKEN",
          "NETSEC_API_TOKEN",
          "MONGODB_URI",
        ],
        censor: "***",
      },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = pino({ level: "silent" });
