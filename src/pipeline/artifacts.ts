/**
 * A sortable, unique run id: UTC time to the millisecond + random suffix (runs started in the same
 * second, as a failed config check and the next run can be, still list newest first). A run's
 * folders come from the home layout (src/config/home.ts).
 */
export function newRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, "").replace("T", "-").replace(".", "-").replace("Z", "");
  return `${t}-${Math.random().toString(36).slice(2, 8)}`;
}
