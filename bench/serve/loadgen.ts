/**
 * The load generator of bench/serve/load.ts and bench/serve/monitor-ab.ts, in a process of its own (as
 * a real client is: it never shares the server's heap, garbage collector or event loop). Reads
 * autocannon options objects from stdin, one JSON object a line (the body base64-encoded), runs each
 * in turn and prints its result's figures as one JSON line; exits when stdin ends. One process can
 * so serve many short runs without a start-up of its own between them.
 */
import { createInterface } from "node:readline";
import autocannon from "autocannon";

for await (const line of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
  if (line.trim() === "") continue;
  const o = JSON.parse(line) as {
    url: string;
    method: string;
    headers: Record<string, string>;
    body64: string;
    connections: number;
    duration: number;
    /** requests per second over all connections (absent: as fast as the server answers) */
    rate?: number;
  };
  const r = await autocannon({
    url: o.url,
    method: o.method,
    headers: o.headers,
    body: Buffer.from(o.body64, "base64"),
    connections: o.connections,
    duration: o.duration,
    ...(o.rate ? { overallRate: o.rate } : {}),
  });
  process.stdout.write(
    `${JSON.stringify({
      rps: r.requests.average,
      p50: r.latency.p50,
      p99: r.latency.p99,
      non2xx: r.non2xx,
      errors: r.errors,
      // answered requests over the run (2xx and not), for the server's CPU per request
      requests: r.requests.total,
    })}\n`,
  );
}
