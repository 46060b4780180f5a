/**
 * How a command names the store a run lives in, for the `runbook resume <id>` it is told to type.
 */
import { urlWithoutPassword } from './without-password.js';

/**
 * ` --store <url>` without its password, quoted for a shell when needed; ` --state-dir <dir>`.
 *
 * @example
 * ```ts
 * resumeWhere('postgres://rbe:***@db/runs'); // ' --store postgres://rbe@db/runs'
 * resumeWhere('/var/runbook'); // ' --state-dir /var/runbook'
 * ```
 */
export function resumeWhere(location: string): string {
  const url = urlWithoutPassword(location);
  if (/^postgres(ql)?:/.test(url)) return ` --store ${/^[\w@%+=:,./~-]+$/.test(url) ? url : `"${url}"`}`;
  return ` --state-dir ${/^[\w@%+=:,./~-]+$/.test(location) ? location : `"${location}"`}`;
}
