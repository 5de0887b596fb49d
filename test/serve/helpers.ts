/** Test helpers for the serving tests: an app on a temp NETSEC_HOME with the fixture model, logs captured. */
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import type { Predictor } from "../../src/bundle/predictor.ts";
import { buildApp } from "../../src/serve/app.ts";
import { StaticModelSource } from "../../src/serve/model-holder.ts";
import type { AppDeps } from "../../src/serve/types.ts";
import { tempDir } from "../helpers/env.ts";

export const TOKEN = "test-token-0123456789abcdef";

export interface TestApp {
  app: FastifyInstance;
  home: string;
  source: StaticModelSource;
  /** Every log line written so far (JSON text). */
  logs: string[];
  close(): Promise<void>;
}

export async function makeApp(predictor: Predictor | null, over: Partial<AppDeps> = {}): Promise<TestApp> {
  const { dir, cleanup } = tempDir("netsec-serve-");
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const logger = pino({ level: "info" }, sink);
  const source = new StaticModelSource(predictor);
  const app = await buildApp({
    logger,
    home: dir,
    apiToken: TOKEN,
    models: source,
    rateLimit: false,
    ...over,
  });
  await app.ready();
  return {
    app,
    home: dir,
    source,
    logs,
    async close() {
      await app.close();
      cleanup();
    },
  };
}

/** A multipart/form-data body with one file part. */
export function multipart(
  content: string | Buffer,
  opts: { filename?: string; type?: string; field?: string; boundary?: string } = {},
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = opts.boundary ?? "----netsecTestBoundary7MA4YWxkTrZu0gW";
  const head =
    `--${boundary}\r\nContent-Disposition: form-data; name="${opts.field ?? "file"}"; filename="${opts.filename ?? "data.csv"}"\r\n` +
    `Content-Type: ${opts.type ?? "text/csv"}\r\n\r\n`;
  const payload = Buffer.concat([
    Buffer.from(head),
    Buffer.isBuffer(content) ? content : Buffer.from(content),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { payload, headers: { "content-type": `multipart/form-data; boundary=${boundary}` } };
}
