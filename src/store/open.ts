/** Open a record store from a URI: `sqlite:<path>` (or a bare path) or `mongodb://…` / `mongodb+srv://…`. */
import { resolve } from "node:path";
import { MongoStore } from "./mongodb.ts";
import { SqliteStore } from "./sqlite.ts";
import type { RecordStore } from "./types.ts";

export function openStore(uri: string, opts: { serverSelectionTimeoutMS?: number } = {}): RecordStore {
  if (/^mongodb(\+srv)?:\/\//.test(uri)) return new MongoStore(uri, opts);
  const path = uri.startsWith("sqlite:") ? uri.slice("sqlite:".length) : uri;
  return new SqliteStore(path === ":memory:" ? path : resolve(path));
}
