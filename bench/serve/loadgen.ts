/**
 * The load generator of bench/serve/load.ts, in a process of its own (as a real client is: it never
 * shares the server's heap, garbage collector or event loop). Reads one autocannon options object as
 * JSON from stdin (the body base64-encoded), runs it, prints the result's figures as one JSON line.
 */
import autocannon from "autocannon";

const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const o = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
  url: string;
  method: string;
  headers: Record<string, string>;
  body64: string;
  connections: number;
  duration: number;
};
const r = await autocannon({
  url: o.url,
  method: o.method,
  headers: o.headers,
  body: Buffer.from(o.body64, "base64"),
  connections: o.connections,
  duration: o.duration,
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
