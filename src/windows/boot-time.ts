/**
 * Boot times as Windows reports them. WMI's `Win32_OperatingSystem.LastBootUpTime` is computed from the
 * clock and the uptime, so two readings of the same boot can differ by a few milliseconds (and by a
 * second across a clock adjustment); a restart moves it by at least the time the restart took. Two
 * readings within the tolerance are the same boot.
 *
 * A reading that cannot be read as a time proves nothing: it is neither the same boot nor another
 * one. Whatever decides to skip a restart, or to take one as done, asks {@link restartedSince}, which
 * answers true only for two readable times a restart apart — an unreadable value never skips a restart.
 */

/** Readings closer than this are one boot. */
export const BOOT_TIME_TOLERANCE_MS = 5_000;

/** The milliseconds of a reading, or NaN when it is not a time. */
function timeOf(reading: string): number {
  return typeof reading === 'string' && reading.trim() !== '' ? Date.parse(reading) : Number.NaN;
}

/**
 * True when two boot-time readings are both readable and name the same boot.
 *
 * @example
 * ```ts
 * sameBoot('2026-11-20T06:12:44.1234567Z', '2026-11-20T06:12:44.126Z'); // true
 * ```
 */
export function sameBoot(a: string, b: string): boolean {
  const ta = timeOf(a);
  const tb = timeOf(b);
  if (Number.isNaN(ta) || Number.isNaN(tb)) return false;
  return Math.abs(ta - tb) < BOOT_TIME_TOLERANCE_MS;
}

/**
 * True only when the target is proven to have booted since the baseline: both readings are times and
 * they are further apart than the tolerance. An unreadable reading (either one) answers false — "not
 * proven restarted" — so that the restart is sent, or waited for, rather than skipped.
 *
 * @example
 * ```ts
 * restartedSince('2026-11-20T06:14:02Z', '2026-11-20T06:12:44Z'); // true
 * restartedSince('2026-11-20T06:14:02Z', ''); // false: the baseline proves nothing
 * ```
 */
export function restartedSince(current: string, baseline: string): boolean {
  const now = timeOf(current);
  const before = timeOf(baseline);
  if (Number.isNaN(now) || Number.isNaN(before)) return false;
  return Math.abs(now - before) >= BOOT_TIME_TOLERANCE_MS;
}
