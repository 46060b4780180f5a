/**
 * Boot times as Windows reports them. WMI's `Win32_OperatingSystem.LastBootUpTime` is computed from the
 * clock and the uptime, so two readings of the same boot can differ by a few milliseconds (and by a
 * second across a clock adjustment); a restart moves it by at least the time the restart took. Two
 * readings within the tolerance are the same boot.
 */

/** Readings closer than this are one boot. */
export const BOOT_TIME_TOLERANCE_MS = 5_000;

/**
 * True when two boot-time readings name the same boot.
 *
 * @example
 * ```ts
 * sameBoot('2026-11-20T06:12:44.1234567Z', '2026-11-20T06:12:44.126Z'); // true
 * ```
 */
export function sameBoot(a: string, b: string): boolean {
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  if (Number.isNaN(ta) || Number.isNaN(tb)) return a === b;
  return Math.abs(ta - tb) < BOOT_TIME_TOLERANCE_MS;
}
