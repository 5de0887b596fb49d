import { NetsecError } from "../core/errors.ts";

/** A whole-number flag value within [min, max], or CONFIG_INVALID naming the flag and the value. */
export function intOption(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new NetsecError(
      "CONFIG_INVALID",
      `${flag} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`,
      {
        value: text,
      },
    );
  return n;
}
