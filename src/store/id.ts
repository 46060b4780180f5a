/**
 * What may name a run or a fleet: letters, digits, `.`, `_` and `-`, with at least one letter or digit.
 * The second rule matters as much as the first: `.` and `..` are made of allowed characters, yet as a
 * folder's name they are the runs' folder itself and the state directory (`runs/..`), and `...` is no
 * run any engine ever made. Light on purpose (no import): the store, the CLI and the console share it.
 */

/** An id's shape: allowed characters only, and a letter or a digit among them. */
export const ID_PATTERN = /^(?=[^A-Za-z0-9]*[A-Za-z0-9])[A-Za-z0-9._-]+$/;

/** True when `id` can name a run or a fleet (see {@link ID_PATTERN}). */
export function isId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** Why `id` cannot name a run or fleet, in words a person can act on (`what`: "run", "fleet", …). */
export function notAnId(id: string, what: string): string {
  const shown = id.length > 80 ? `${id.slice(0, 80)}… (${id.length} characters)` : id;
  return `"${shown}" is not a ${what} id: an id is made of letters, digits, ".", "_" and "-", with at least one letter or digit`;
}
