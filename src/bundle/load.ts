/** The bundle loader the server imports lazily (see src/serve/server.ts). */
export { loadPredictor } from "./bundle.ts";
