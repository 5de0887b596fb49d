/**
 * The cap on scoring work in flight. A scoring request (`POST /predict`, `POST /predict/records`) takes
 * a slot before its body is read and gives it back when its answer is sent (or the client goes away):
 * at most `slots` requests hold an upload's bytes, its parsed rows and its output at once, whatever
 * the number of clients. Up to `queue` more wait, their bodies still unread in the socket; past that a
 * request is answered 503 with Retry-After at once. Six parallel 200k-row uploads otherwise took the
 * server from 1.1 to 1.9 GB.
 */
import type { FastifyReply, FastifyRequest, RequestPayload } from "fastify";
import { NetsecError } from "../core/errors.ts";

/** Seconds a client refused for a full queue is asked to wait (Retry-After). */
export const SCORING_RETRY_AFTER_S = 2;

export class ScoringGate {
  readonly slots: number;
  readonly queue: number;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(slots: number, queue: number) {
    if (!(Number.isSafeInteger(slots) && slots >= 1))
      throw new RangeError(`slots must be >= 1, not ${slots}`);
    if (!(Number.isSafeInteger(queue) && queue >= 0))
      throw new RangeError(`queue must be >= 0, not ${queue}`);
    this.slots = slots;
    this.queue = queue;
  }

  /** Requests holding a slot, and waiting for one. */
  get counts(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }

  /**
   * Resolves with the slot's release function (idempotent) once a slot is free; throws a 503
   * SERVICE_UNAVAILABLE (details.retry_after in seconds) when the queue is full. A request that waits
   * and whose `signal` aborts (its client went away) leaves the queue at once and gets the signal's
   * reason thrown: a dead connection never keeps a queue place or receives a slot.
   */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.active < this.slots) {
      this.active++;
      return this.releaser();
    }
    if (this.waiting.length >= this.queue) {
      throw new NetsecError(
        "SERVICE_UNAVAILABLE",
        `the server is scoring ${this.active} request(s) with ${this.waiting.length} waiting (the most it takes); retry in ${SCORING_RETRY_AFTER_S} s`,
        {
          reason: "scoring_busy",
          max_scoring: this.slots,
          scoring_queue: this.queue,
          retry_after: SCORING_RETRY_AFTER_S,
        },
      );
    }
    // the slot passes straight from the releasing request to this one (active stays the same)
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiting.indexOf(wake);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal?.reason);
      };
      const wake = (): void => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      this.waiting.push(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
  }
}

/**
 * Route hooks that hold a slot of `gate` from before the body is read (preParsing) until the
 * response is over: finished, or its connection closed (the response's `close` event, which Node
 * emits in both cases). onResponse alone is not enough: a client that sends its whole body and then
 * leaves while the request is scored is not an "abort" to fastify (the request was complete), and
 * the reply to a closed socket never finishes, so neither hook would run and the slot would be lost
 * for good (a load generator stopping mid-run wedged the server this way). onResponse and
 * onRequestAbort still release early where they run (releasing is idempotent).
 */
export function gatedRoute(gate: ScoringGate): {
  preParsing: (req: FastifyRequest, reply: FastifyReply, payload: RequestPayload) => Promise<RequestPayload>;
  onResponse: (req: FastifyRequest) => Promise<void>;
  onRequestAbort: (req: FastifyRequest) => Promise<void>;
} {
  const held = new WeakMap<FastifyRequest, () => void>();
  const release = async (req: FastifyRequest): Promise<void> => {
    held.get(req)?.();
    held.delete(req);
  };
  const left = () => new NetsecError("BAD_REQUEST", "the client closed the request while it waited", {});
  return {
    async preParsing(req, reply, payload) {
      const res = reply.raw;
      if (res.destroyed || res.writableEnded) throw left();
      const closed = new AbortController();
      const onClose = (): void => closed.abort(left());
      res.once("close", onClose);
      let done: () => void;
      try {
        done = await gate.acquire(closed.signal);
      } catch (e) {
        res.removeListener("close", onClose);
        throw e;
      }
      res.removeListener("close", onClose);
      if (res.destroyed || res.writableEnded) {
        // the connection ended just as the slot came: it goes on at once
        done();
        throw left();
      }
      held.set(req, done);
      res.once("close", () => void release(req));
      return payload;
    },
    onResponse: release,
    onRequestAbort: release,
  };
}
