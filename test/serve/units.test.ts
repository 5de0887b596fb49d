/** Small pieces checked against hand-computed answers: the Prometheus text, Accept negotiation, HTML escaping, auth. */
import { describe, expect, it } from "vitest";
import { escapeHtml, html } from "../../src/core/html.ts";
import { makeAuthCheck } from "../../src/serve/auth.ts";
import { MetricsRegistry } from "../../src/serve/metrics.ts";
import { negotiate, wantsHtml } from "../../src/serve/negotiate.ts";

describe("metrics registry", () => {
  it("renders counters, gauges and cumulative histogram buckets in the text format", () => {
    const reg = new MetricsRegistry();
    const c = reg.counter("x_total", "things", ["kind"]);
    c.inc({ kind: "a" });
    c.inc({ kind: "a" }, 2);
    c.inc({ kind: 'q"\\\n' });
    const g = reg.gauge("y", "level");
    g.set({}, 1.5);
    const h = reg.histogram("z_seconds", "latency", ["r"], [0.1, 1]);
    for (const v of [0.05, 0.1, 0.5, 3]) h.observe({ r: "/" }, v);
    expect(reg.render()).toBe(
      [
        "# HELP x_total things",
        "# TYPE x_total counter",
        'x_total{kind="a"} 3',
        'x_total{kind="q\\"\\\\\\n"} 1',
        "# HELP y level",
        "# TYPE y gauge",
        "y 1.5",
        "# HELP z_seconds latency",
        "# TYPE z_seconds histogram",
        'z_seconds_bucket{r="/",le="0.1"} 2',
        'z_seconds_bucket{r="/",le="1"} 3',
        'z_seconds_bucket{r="/",le="+Inf"} 4',
        'z_seconds_sum{r="/"} 3.65',
        'z_seconds_count{r="/"} 4',
        "",
      ].join("\n"),
    );
    expect(() => c.inc({}, -1)).toThrow();
    expect(() => reg.counter("x_total", "again")).toThrow();
  });

  it("observes a batch of values at once with the counts of one observation each", () => {
    const reg = new MetricsRegistry();
    const h = reg.histogram("w_seconds", "latency", [], [0.1, 1]);
    h.observeAll({}, [0.05, 0.1, 0.5, 3]);
    h.observeAll({}, new Float64Array([1]));
    h.observeAll({}, []);
    expect(reg.render()).toBe(
      [
        "# HELP w_seconds latency",
        "# TYPE w_seconds histogram",
        'w_seconds_bucket{le="0.1"} 2',
        'w_seconds_bucket{le="1"} 4',
        'w_seconds_bucket{le="+Inf"} 5',
        "w_seconds_sum 4.65",
        "w_seconds_count 5",
        "",
      ].join("\n"),
    );
  });
});

describe("content negotiation", () => {
  it.each([
    [undefined, undefined, "json"],
    ["*/*", undefined, "json"],
    ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", undefined, "html"],
    ["text/csv", undefined, "csv"],
    ["application/json;q=0.5, text/csv", undefined, "csv"],
    ["text/*", undefined, "html"],
    ["text/html;q=0", undefined, "json"],
    ["text/html", "csv", "csv"],
  ] as const)("Accept %s, ?format=%s → %s", (accept, format, want) => {
    expect(negotiate(accept, format, ["json", "html", "csv"])).toBe(want);
  });

  it("errors are HTML for browsers only", () => {
    expect(wantsHtml("text/html,*/*;q=0.8", undefined)).toBe(true);
    expect(wantsHtml("*/*", undefined)).toBe(false);
    expect(wantsHtml(undefined, "html")).toBe(true);
    expect(wantsHtml("text/html", "json")).toBe(false);
  });
});

describe("html escaping", () => {
  it("escapes every interpolation unless it is already SafeHtml", () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&\``)).toBe(
      "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;",
    );
    const inner = html`<b>${"<i>"}</b>`;
    expect(html`<p>${inner}${["<", html`<br>`]}${null}${false}${0}</p>`.value).toBe(
      "<p><b>&lt;i&gt;</b>&lt;<br>0</p>",
    );
  });
});

describe("bearer auth", () => {
  const req = (authorization?: string) =>
    ({ headers: authorization === undefined ? {} : { authorization } }) as never;
  it("401 missing/malformed, 403 wrong, passes the right token, 503 when unconfigured", () => {
    const check = makeAuthCheck("s3cret");
    expect(() => check(req())).toThrow(expect.objectContaining({ status: 401 }));
    expect(() => check(req("Token s3cret"))).toThrow(expect.objectContaining({ status: 401 }));
    expect(() => check(req("Bearer s3cret2"))).toThrow(expect.objectContaining({ status: 403 }));
    expect(() => check(req("Bearer s3cre"))).toThrow(expect.objectContaining({ status: 403 }));
    expect(() => check(req("Bearer s3cret"))).not.toThrow();
    expect(() => check(req("bearer   s3cret"))).not.toThrow();
    expect(() => makeAuthCheck(undefined)(req("Bearer s3cret"))).toThrow(
      expect.objectContaining({ status: 503 }),
    );
  });
});
