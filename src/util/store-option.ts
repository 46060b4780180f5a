/**
 * The store of a command a person is told to type next (`continue with: runbook resume … --state-dir …`,
 * the console's advice): `--state-dir <dir>`, or `--store <url>` without its password — neither the
 * user-info's nor a `password` parameter (the password comes from `$PGPASSWORD` again: `--store`
 * refuses one). Quoted for a POSIX shell where a shell would read a character of it.
 */
import { urlWithoutPassword } from './without-password.js';

/** Characters no POSIX shell reads as anything but themselves. */
const PLAIN = /^[\w@%+=:,./~-]+$/;

/**
 * A word as a POSIX shell should be given it: as it is when plain, in double quotes when only `?`,
 * `&`, spaces and the like need them, else in single quotes.
 *
 * @example
 * ```ts
 * shellWord('/var/lib/runbook'); // '/var/lib/runbook'
 * shellWord('postgres://rbe@db/runs?sslmode=require'); // '"postgres://rbe@db/runs?sslmode=require"'
 * shellWord("/srv/it's $HOME"); // "'/srv/it'\\''s $HOME'"
 * ```
 */
export function shellWord(text: string): string {
  if (PLAIN.test(text)) return text;
  if (!/["$`\\!']/.test(text)) return `"${text}"`;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The option that names a store where it is kept: a state directory, or a store's URL (its password
 * masked or not: it is left out).
 *
 * @example
 * ```ts
 * storeOption('/var/lib/runbook'); // '--state-dir /var/lib/runbook'
 * storeOption('postgres://rbe:***@db:5432/runs'); // '--store postgres://rbe@db:5432/runs'
 * ```
 */
export function storeOption(location: string): string {
  return /^postgres(ql)?:/.test(location) ? `--store ${shellWord(urlWithoutPassword(location))}` : `--state-dir ${shellWord(location)}`;
}
