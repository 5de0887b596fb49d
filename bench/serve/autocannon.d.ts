// The few parts of autocannon's API the load benchmark uses (the package ships no types).
declare module "autocannon" {
  interface Options {
    url: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    connections?: number;
    duration?: number;
    /** requests per second over all connections */
    overallRate?: number;
  }
  interface Stats {
    average: number;
    p50: number;
    p99: number;
  }
  interface RequestStats extends Stats {
    /** requests answered over the run */
    total: number;
  }
  interface Result {
    requests: RequestStats;
    latency: Stats;
    non2xx: number;
    errors: number;
  }
  function autocannon(opts: Options): Promise<Result>;
  export default autocannon;
}
