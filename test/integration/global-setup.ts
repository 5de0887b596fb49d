/**
 * Integration tests run against real servers: this global set-up starts FerretDB (and MLflow unless
 * NETSEC_TEST_MLFLOW=0, SeaweedFS's S3 server unless NETSEC_TEST_S3=0, the Kafka broker unless
 * NETSEC_TEST_KAFKA=0) through scripts/test-services,
 * exposes their URIs as environment variables to the test workers, and stops at teardown only what it
 * started itself.
 */
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
const script = resolve(ROOT, "scripts/test-services");

function status(): string {
  return execFileSync(script, ["status"], { encoding: "utf8" });
}

export default function setup(): () => void {
  const started: string[] = [];
  const wanted = [
    "ferretdb",
    ...(process.env.NETSEC_TEST_MLFLOW === "0" ? [] : ["mlflow"]),
    ...(process.env.NETSEC_TEST_S3 === "0" ? [] : ["s3"]),
    ...(process.env.NETSEC_TEST_KAFKA === "0" ? [] : ["kafka"]),
  ];
  for (const name of wanted) {
    const wasRunning = new RegExp(`^${name}: running`, "m").test(status());
    const out = execFileSync(script, ["start", name], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    for (const line of out.split("\n")) {
      const m = /^([A-Z0-9_]+)=(.+)$/.exec(line.trim());
      if (m) process.env[`NETSEC_TEST_${m[1]}`] = m[2];
    }
    if (!wasRunning) started.push(name);
  }
  return () => {
    for (const name of started) execFileSync(script, ["stop", name], { stdio: "inherit" });
  };
}
