/**
 * Bearer-token check for state-changing routes. The token is compared as SHA-256 digests with
 * crypto.timingSafeEqual (equal lengths always, so neither the content nor the length leaks through
 * timing). With no token configured the routes are closed, never open.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { NetsecError } from "../core/errors.ts";

function digest(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

/** A preHandler-style check; throws 503 (not configured), 401 (no/malformed credentials) or 403 (wrong token). */
export function makeAuthCheck(token: string | undefined): (req: FastifyRequest) => void {
  const expected = token ? digest(token) : null;
  return (req) => {
    if (!expected) {
      throw new NetsecError(
        "SERVICE_UNAVAILABLE",
        "this route needs an API token, and none is configured: set NETSEC_API_TOKEN on the server to enable it",
        { reason: "token_not_configured" },
      );
    }
    const h = req.headers.authorization;
    const m = typeof h === "string" ? /^Bearer[ ]+(\S+)\s*$/i.exec(h) : null;
    if (!m) {
      throw new NetsecError("UNAUTHORIZED", "this route needs `Authorization: Bearer <NETSEC_API_TOKEN>`", {
        reason: h ? "malformed_authorization" : "missing_authorization",
      });
    }
    if (!timingSafeEqual(digest(m[1]!), expected)) {
      throw new NetsecError("FORBIDDEN", "the bearer token is not valid for this server", {
        reason: "invalid_token",
      });
    }
  };
}
