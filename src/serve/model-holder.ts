/**
 * Which model the server is answering with, and how it changes without a restart.
 *
 * A `ModelSource` says which model is the champion (a cheap `championRef()`, e.g. "phishing-rf:3") and
 * loads it. The `ModelHolder` keeps one reference to the loaded Predictor and replaces it with a single
 * assignment once the new one is fully loaded: a request reads `holder.current()` once when it starts
 * and keeps that object to the end, so a swap never fails or mixes versions inside an in-flight request.
 * Reloads are serialised (one load at a time) and a failed load keeps the previous model.
 */
import { statSync } from "node:fs";
import type { Predictor } from "../bundle/predictor.ts";
import type { ModelRegistry, ModelVersion } from "../bundle/registry.ts";
import { NetsecError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";

export interface ModelListing {
  name: string;
  aliases: Record<string, number>;
  versions: ModelVersion[];
}

export interface ModelSource {
  /**
   * A string that changes whenever the champion may have changed (e.g. registry.json mtimes). Called
   * on every poll, so it must be cheap; null when nothing can be watched.
   */
  changeToken(): string | null;
  /** Identity of the current champion ("name:version"), or null when there is none. */
  championRef(): string | null;
  /** Load the champion named by `ref` (as returned by championRef). */
  load(ref: string): Promise<Predictor>;
  /** Refs to serve instead of `ref` when it does not load, best first (earlier good versions). */
  fallbacks?(ref: string): string[];
  /** Registered models for `GET /models`. */
  list(): ModelListing[];
}

/** Loads a bundle directory (the lead's `loadPredictor`), sync or async. */
export type BundleLoader = (dir: string, version: string) => Predictor | Promise<Predictor>;

/**
 * The local registry as a ModelSource: the champion is `registry.resolve("champion")`; the change token
 * is the mtimes of every model's registry.json (the registry rewrites it atomically on every alias change).
 */
/**
 * The registry's champion as a model source. A server serves one registered model: `name` when given
 * (`netsec serve --model`), else the one model with a champion, or, when several names have one (a home
 * that trained phishing and NSL-KDD), the most recently promoted champion. The name is then kept for
 * the life of the server, so a champion promoted under another name never swaps the dataset a running
 * server answers for; with no champion yet, the first one promoted is taken.
 */
export function registryModelSource(
  registry: ModelRegistry,
  loader: BundleLoader,
  opts: { name?: string } = {},
): ModelSource {
  let bound: string | null = opts.name ?? null;
  const latestChampion = (): string | null => {
    let best: { name: string; at: string } | null = null;
    let damaged: unknown = null;
    for (const name of registry.names()) {
      let idx: ReturnType<ModelRegistry["index"]>;
      try {
        idx = registry.index(name);
      } catch (e) {
        // one damaged registry.json does not stop serving another model's champion
        damaged ??= e;
        continue;
      }
      const v = idx.aliases.champion;
      if (v === undefined) continue;
      const at =
        idx.history.filter((h) => h.alias === "champion" && h.version === v).at(-1)?.at ??
        idx.versions.find((x) => x.version === v)?.created ??
        "";
      if (!best || at > best.at) best = { name, at };
    }
    // nothing to serve, and a damaged index may be why: say so
    if (!best && damaged) throw damaged;
    return best?.name ?? null;
  };
  return {
    changeToken() {
      const parts: string[] = [];
      for (const n of registry.names()) {
        try {
          parts.push(`${n}@${statSync(registry.indexFile(n)).mtimeMs}`);
        } catch {
          parts.push(`${n}@-`);
        }
      }
      return parts.join(",");
    },
    championRef() {
      try {
        bound ??= latestChampion();
        if (!bound) return null;
        const r = registry.resolve(`${bound}@champion`);
        return `${r.name}:${r.version.version}`;
      } catch (e) {
        // no champion yet is not an error; a damaged registry.json is (the holder reports it)
        if (e instanceof NetsecError && e.code === "STATE_CORRUPT") throw e;
        return null;
      }
    },
    async load(ref) {
      const r = registry.resolve(ref);
      return loader(r.dir, `${r.name}:${r.version.version}`);
    },
    fallbacks(ref) {
      const m = /^(.+):(\d+)$/.exec(ref);
      if (!m) return [];
      return registry.fallbacks(m[1]!, Number(m[2])).map((v) => `${m[1]}:${v}`);
    },
    list() {
      return registry.names().map((name) => {
        const idx = registry.index(name);
        return { name, aliases: idx.aliases, versions: idx.versions };
      });
    },
  };
}

/** A fixed set of predictors (tests, `--model <path>`): the champion is whichever was set last. */
export class StaticModelSource implements ModelSource {
  private predictor: Predictor | null;
  private gen = 0;

  constructor(predictor: Predictor | null) {
    this.predictor = predictor;
  }

  set(p: Predictor | null): void {
    this.predictor = p;
    this.gen++;
  }

  changeToken(): string {
    return String(this.gen);
  }

  championRef(): string | null {
    return this.predictor?.version ?? null;
  }

  async load(): Promise<Predictor> {
    if (!this.predictor) throw new Error("no model set");
    return this.predictor;
  }

  list(): ModelListing[] {
    return [];
  }
}

export interface ModelEvents {
  onSwap?: (p: Predictor, previous: Predictor | null) => void;
  onReloadResult?: (result: "loaded" | "unchanged" | "failed" | "none") => void;
}

export class ModelHolder {
  readonly source: ModelSource;
  private readonly log: Logger;
  private readonly events: ModelEvents;
  private predictor: Predictor | null = null;
  private loadedRef: string | null = null;
  private lastToken: string | null | undefined = undefined;
  private inFlight: Promise<boolean> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastError: string | null = null;
  private servingNote: string | null = null;

  constructor(source: ModelSource, log: Logger, events: ModelEvents = {}) {
    this.source = source;
    this.log = log;
    this.events = events;
  }

  /** The predictor to use for one whole request (read it once, at the start). */
  current(): Predictor | null {
    return this.predictor;
  }

  get error(): string | null {
    return this.lastError;
  }

  /**
   * Why the model served is not the champion (its bundle does not load, so an earlier good version
   * or the model loaded before is served), or null when the champion itself is served.
   */
  get warning(): string | null {
    return this.servingNote;
  }

  /** Replace the served model (one assignment: atomic for every request that starts afterwards). */
  swap(p: Predictor): void {
    const prev = this.predictor;
    this.predictor = p;
    this.loadedRef = p.version;
    this.lastError = null;
    this.servingNote = null;
    this.events.onSwap?.(p, prev);
  }

  /**
   * Check the source and load the champion if it changed. Concurrent calls share one attempt.
   * Resolves to true when a new model was swapped in. Never throws: a failed load is logged and the
   * previous model stays.
   */
  refresh(force = false): Promise<boolean> {
    if (this.inFlight) return this.inFlight;
    this.inFlight = this.doRefresh(force).finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async doRefresh(force: boolean): Promise<boolean> {
    let token: string | null;
    try {
      token = this.source.changeToken();
    } catch (e) {
      token = null;
      this.log.warn({ err: e }, "cannot read the model registry");
    }
    if (!force && token !== null && token === this.lastToken && this.predictor) return false;
    let ref: string | null;
    try {
      ref = this.source.championRef();
    } catch (e) {
      this.lastError = `cannot tell the champion: ${(e as Error).message}`;
      this.lastToken = token;
      this.events.onReloadResult?.("failed");
      this.log.error({ err: e }, "cannot read the model registry; keeping the current model");
      return false;
    }
    this.lastToken = token;
    if (ref === null) {
      this.events.onReloadResult?.("none");
      return false;
    }
    if (!force && ref === this.loadedRef && this.predictor) {
      this.events.onReloadResult?.("unchanged");
      return false;
    }
    const t0 = performance.now();
    try {
      const p = await this.source.load(ref);
      this.swap(p);
      this.events.onReloadResult?.("loaded");
      this.log.info({ model: p.version, ms: Math.round(performance.now() - t0) }, "model loaded");
      return true;
    } catch (e) {
      const why = `loading ${ref}: ${(e as Error).message}`;
      // a token of undefined makes the next poll try again
      this.lastToken = undefined;
      this.events.onReloadResult?.("failed");
      if (this.predictor) {
        this.lastError = why;
        this.servingNote = `champion ${ref} does not load (${why}); still serving ${this.predictor.version}`;
        this.log.error({ err: e, model: ref }, "model load failed; keeping the current model");
        return false;
      }
      this.log.error({ err: e, model: ref }, "model load failed");
      return this.fallBack(ref, why);
    }
  }

  /** Nothing served yet and the champion does not load: serve the best earlier version that does. */
  private async fallBack(ref: string, why: string): Promise<boolean> {
    for (const fb of this.source.fallbacks?.(ref) ?? []) {
      try {
        const p = await this.source.load(fb);
        this.swap(p);
        this.lastError = why;
        this.servingNote = `champion ${ref} does not load (${why}); serving the previous good version ${p.version}`;
        this.log.warn({ model: p.version, champion: ref }, this.servingNote);
        return true;
      } catch (e) {
        this.log.warn({ err: e, model: fb }, "fallback model does not load either");
      }
    }
    this.lastError = why;
    return false;
  }

  /** Poll the source every `ms` milliseconds (the timer does not keep the process alive). */
  startPolling(ms: number): void {
    this.stopPolling();
    if (ms <= 0) return;
    this.timer = setInterval(() => void this.refresh(), ms);
    this.timer.unref();
  }

  stopPolling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
