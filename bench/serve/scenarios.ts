/**
 * The request scenarios of the serving benchmarks (bench/serve/load.ts, bench/serve/monitor-ab.ts):
 * `POST /predict/records` with 1 and 100 phishing records (with and without explanations) and a
 * 1,000-row CSV upload (`POST /predict`), against a server at `base`.
 */
import { phishingCsvSlice } from "../../test/serve/fixtures/predictor.ts";

export interface Scenario {
  name: string;
  url: string;
  method: "POST";
  headers: Record<string, string>;
  body: string | Buffer;
  rowsPerRequest: number;
}

/** The first `n` phishing rows as records (input → number), without the target column. */
export function records(n: number): Record<string, number>[] {
  const lines = phishingCsvSlice(n).trim().split("\n");
  const h = lines[0]!.replace(/"/g, "").split(",");
  // the target column is not an input
  return lines.slice(1).map((l) =>
    Object.fromEntries(
      l
        .split(",")
        .map((v, i) => [h[i]!, Number(v)])
        .filter(([k]) => k !== "Result"),
    ),
  );
}

export function multipartBody(csv: string): { body: Buffer; type: string } {
  const b = "----netsecBench0123456789";
  const body = Buffer.concat([
    Buffer.from(
      `--${b}\r\nContent-Disposition: form-data; name="file"; filename="bench.csv"\r\nContent-Type: text/csv\r\n\r\n`,
    ),
    Buffer.from(csv),
    Buffer.from(`\r\n--${b}--\r\n`),
  ]);
  return { body, type: `multipart/form-data; boundary=${b}` };
}

/** The four scenarios against the server at `base` (http://host:port). */
export function scoringScenarios(base: string): Scenario[] {
  const rec1 = JSON.stringify(records(1));
  const rec100 = JSON.stringify(records(100));
  const csv = multipartBody(phishingCsvSlice(1000));
  const json = { "content-type": "application/json" };
  return [
    {
      name: "records x1",
      url: `${base}/predict/records`,
      method: "POST",
      headers: json,
      body: rec1,
      rowsPerRequest: 1,
    },
    {
      name: "records x100",
      url: `${base}/predict/records`,
      method: "POST",
      headers: json,
      body: rec100,
      rowsPerRequest: 100,
    },
    {
      name: "records x100, no explanations (?top_features=0)",
      url: `${base}/predict/records?top_features=0`,
      method: "POST",
      headers: json,
      body: rec100,
      rowsPerRequest: 100,
    },
    {
      name: "csv upload 1000 rows",
      url: `${base}/predict?format=json`,
      method: "POST",
      headers: { "content-type": csv.type },
      body: csv.body,
      rowsPerRequest: 1000,
    },
  ];
}
