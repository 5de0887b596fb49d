/** The feature sets `netsec flows --features` offers: identity columns, then numeric features. */
import { CIC_FEATURES, CIC_ID_COLUMNS, cicIdentity } from "./cic-features.ts";
import type { Flow } from "./flow.ts";
import { NFSTREAM_FEATURES, NFSTREAM_ID_COLUMNS, nfstreamIdentity } from "./nfstream-features.ts";

export interface FeatureSet {
  idColumns: readonly string[];
  /** DuckDB types of the identity columns (Parquet output); features are DOUBLE. */
  idTypes: readonly ("VARCHAR" | "INTEGER")[];
  identity: (f: Flow) => (string | number)[];
  features: readonly (readonly [string, (f: Flow) => number])[];
}

export const FEATURE_SETS = {
  cic: {
    idColumns: CIC_ID_COLUMNS,
    idTypes: ["VARCHAR", "VARCHAR", "INTEGER", "VARCHAR", "INTEGER", "INTEGER", "VARCHAR"],
    identity: cicIdentity,
    features: CIC_FEATURES,
  },
  nfstream: {
    idColumns: NFSTREAM_ID_COLUMNS,
    idTypes: ["VARCHAR", "INTEGER", "VARCHAR", "INTEGER", "INTEGER", "INTEGER"],
    identity: nfstreamIdentity,
    features: NFSTREAM_FEATURES,
  },
} as const satisfies Record<string, FeatureSet>;

export type FeatureSetName = keyof typeof FEATURE_SETS;

export function isFeatureSetName(s: string): s is FeatureSetName {
  return Object.hasOwn(FEATURE_SETS, s);
}
