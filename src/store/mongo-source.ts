/** MongoDB as a source and sink of raw documents (push / ingest --mongodb); the driver code lives in mongodb.ts. */
export { pushToCollection, readCollection } from "./mongodb.ts";
