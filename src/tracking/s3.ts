/**
 * An S3-compatible bucket behind a small interface (put/get/head/list by key under a prefix), the only
 * file importing the AWS SDK. Configured by NETSEC_S3_URI (`s3://bucket/prefix`) and the standard AWS
 * variables as declared in src/config/env.ts; a custom endpoint (MinIO, SeaweedFS, …) is addressed
 * path-style. Every failure is a NetsecError whose message names the bucket and, for refused
 * credentials, the variables to check — never their values.
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { z } from "zod";
import type { Config } from "../config/env.ts";
import { NetsecError } from "../core/errors.ts";

/** What a HEAD says about an object: its size in bytes and the SHA-256 (hex) netsec stored with it. */
export interface ObjectInfo {
  size: number;
  sha256: string | null;
}

/** Keys are relative to the store's prefix (`runs/<id>/…`). */
export interface ObjectStore {
  /** `s3://bucket/prefix`, safe to show. */
  readonly shownUri: string;
  put(key: string, body: Uint8Array, sha256: string): Promise<void>;
  /** The object's bytes, or null when there is none. */
  get(key: string): Promise<Uint8Array | null>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Every key under `keyPrefix` (relative to the store's prefix). */
  list(keyPrefix: string): Promise<string[]>;
}

/** `s3://bucket/prefix` → bucket and prefix (no leading or trailing slash; may be empty). */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(uri);
  if (!m)
    throw new NetsecError(
      "CONFIG_INVALID",
      `NETSEC_S3_URI=${JSON.stringify(uri)} is not s3://<bucket>/<prefix> (bucket: 3-63 lower-case letters, digits, dots or hyphens)`,
      { variable: "NETSEC_S3_URI", value: uri },
    );
  const prefix = (m[2] ?? "").replace(/^\/+|\/+$/g, "");
  return { bucket: m[1]!, prefix };
}

const CREDENTIAL_VARS = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN if used)";
const AUTH_CODES = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "AccessDenied",
  "InvalidToken",
  "ExpiredToken",
  "AuthorizationHeaderMalformed",
  "CredentialsProviderError",
]);

/** Whether a sync failure was the credentials (retrying will not help until they are fixed). */
export function isAuthError(e: unknown): boolean {
  return e instanceof NetsecError && e.details.kind === "auth";
}

/** A NetsecError for a failed S3 call: names the bucket, the operation and key, never a secret. */
function s3Error(e: unknown, shownUri: string, op: string, key: string): NetsecError {
  const name = e instanceof Error ? e.name : "Error";
  const status = e instanceof S3ServiceException ? e.$metadata.httpStatusCode : undefined;
  const auth = AUTH_CODES.has(name) || status === 401 || status === 403;
  const detail = e instanceof Error ? e.message : String(e);
  const message = auth
    ? `S3 refused the credentials for ${shownUri} (${name}${status ? `, HTTP ${status}` : ""}) on ${op} ${key}: check ${CREDENTIAL_VARS}`
    : `S3 ${op} ${key} at ${shownUri} failed: ${name}${status ? ` (HTTP ${status})` : ""}: ${detail}`;
  return new NetsecError("TRACKING_ERROR", message, {
    uri: shownUri,
    key,
    kind: auth ? "auth" : "other",
    ...(status ? { status } : {}),
  });
}

const HeadSchema = z.object({
  ContentLength: z.number().int().nonnegative().optional(),
  Metadata: z.record(z.string(), z.string()).optional(),
});

const ListSchema = z.object({
  Contents: z.array(z.object({ Key: z.string() })).optional(),
  IsTruncated: z.boolean().optional(),
  NextContinuationToken: z.string().optional(),
});

/** The store for NETSEC_S3_URI, or null when it is unset. */
export function s3StoreFrom(env: Readonly<Config>): ObjectStore | null {
  if (!env.NETSEC_S3_URI) return null;
  const { bucket, prefix } = parseS3Uri(env.NETSEC_S3_URI);
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const hasKeys = env.AWS_ACCESS_KEY_ID !== undefined || env.AWS_SECRET_ACCESS_KEY !== undefined;
  if (hasKeys && (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY))
    throw new NetsecError(
      "CONFIG_INVALID",
      "S3 credentials need both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (one of them is unset)",
      { variable: env.AWS_ACCESS_KEY_ID ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID" },
    );
  const client = new S3Client({
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    // without keys, the SDK's default chain (shared config files, container or instance roles)
    ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          credentials: {
            accessKeyId: env.AWS_ACCESS_KEY_ID,
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
            ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
          },
        }
      : {}),
    // S3-compatible servers do not all know the newer flexible checksums; integrity is netsec's SHA-256
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // an unreachable bucket must not hold a finished run for minutes: 3 attempts, 5 s to connect (ms)
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 120_000 },
  });
  const shownUri = `s3://${bucket}${prefix ? `/${prefix}` : ""}`;
  const full = (key: string): string => (prefix ? `${prefix}/${key}` : key);
  const missing = (e: unknown): boolean =>
    e instanceof S3ServiceException &&
    (e.name === "NoSuchKey" || e.name === "NotFound" || e.$metadata.httpStatusCode === 404);

  return {
    shownUri,
    async put(key, body, sha256) {
      try {
        await client.send(
          new PutObjectCommand({ Bucket: bucket, Key: full(key), Body: body, Metadata: { sha256 } }),
        );
      } catch (e) {
        throw s3Error(e, shownUri, "PUT", key);
      }
    },
    async get(key) {
      try {
        const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: full(key) }));
        return r.Body ? await r.Body.transformToByteArray() : new Uint8Array();
      } catch (e) {
        if (missing(e)) return null;
        throw s3Error(e, shownUri, "GET", key);
      }
    },
    async head(key) {
      try {
        const r = HeadSchema.parse(
          await client.send(new HeadObjectCommand({ Bucket: bucket, Key: full(key) })),
        );
        return { size: r.ContentLength ?? 0, sha256: r.Metadata?.sha256 ?? null };
      } catch (e) {
        if (missing(e)) return null;
        throw s3Error(e, shownUri, "HEAD", key);
      }
    },
    async list(keyPrefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        let page: z.infer<typeof ListSchema>;
        try {
          page = ListSchema.parse(
            await client.send(
              new ListObjectsV2Command({
                Bucket: bucket,
                Prefix: full(keyPrefix),
                ...(token ? { ContinuationToken: token } : {}),
              }),
            ),
          );
        } catch (e) {
          throw s3Error(e, shownUri, "LIST", keyPrefix);
        }
        const cut = prefix ? prefix.length + 1 : 0;
        for (const o of page.Contents ?? []) keys.push(o.Key.slice(cut));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys;
    },
  };
}
