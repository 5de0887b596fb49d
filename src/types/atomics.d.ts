/** Atomics.pause (ES2025; Node.js 24 has it, TypeScript's es2024 library does not declare it). */
interface Atomics {
  /** A hint to the CPU that the caller is spinning (x86 PAUSE): no effect on memory. */
  pause(iterationNumber?: number): void;
}
