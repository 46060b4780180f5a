/**
 * What may name a run or a fleet: letters, digits, `.`, `_` and `-`, with at least one letter or digit.
 * The second rule matters as much as the first: `.` and `..` are made of allowed characters, yet as a
 * folder's name they are the runs' folder itself and the state directory (`runs/..`), and `...` is no
 * run any engine ever made. Light on purpose (no import): the store, the CLI and the console share it.
 */

/** An id's shape: allowed characters only, and a letter or a digit among them. */
export const ID_PATTERN = /^(?=[^A-Za-z0-9]*[A-Za-z0-9])[A-Za-z0-9._-]+$/;

/**
 * The longest id: an id names a folder (`runs/<id>`, `fleets/<id>`), and a file name holds at most 255
 * bytes on the file systems a state directory lives on (an id is ASCII: a byte a character). What a
 * run keeps in its folder has names of its own, short or bounded (a backup's, `MAX_BACKUP_FILE_NAME`).
 */
export const MAX_ID_LENGTH = 255;

/** True when `id` can name a run or a fleet (see {@link ID_PATTERN}, {@link MAX_ID_LENGTH}). */
export function isId(id: string): boolean {
  return id.length <= MAX_ID_LENGTH && ID_PATTERN.test(id);
}

/** Why `id` cannot name a run or fleet, in words a person can act on (`what`: "run", "fleet", …). */
export function notAnId(id: string, what: string): string {
  const shown = id.length > 80 ? `${id.slice(0, 80)}… (${id.length} characters)` : id;
  if (id.length > MAX_ID_LENGTH && ID_PATTERN.test(id)) return `"${shown}" is not a ${what} id: it names a folder, whose name holds at most ${MAX_ID_LENGTH} characters`;
  return `"${shown}" is not a ${what} id: an id is made of letters, digits, ".", "_" and "-", with at least one letter or digit`;
}
