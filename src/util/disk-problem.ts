/**
 * Disk error codes in the operator's words: kept here, below every room, so that the file-system
 * helpers of `util/` can say what went wrong without importing the error classes above them.
 */

/**
 * What a disk error code means, in the operator's words: ENOSPC "the disk is full", EDQUOT "the disk
 * quota is used up", EFBIG "the file is too large for its file system" (not a full disk), …
 *
 * @example
 * ```ts
 * diskProblem('ENOSPC'); // 'the disk is full'
 * ```
 */
export function diskProblem(errno: string): string {
  switch (errno) {
    case 'ENOSPC':
      return 'the disk is full';
    case 'EDQUOT':
      return 'the disk quota is used up';
    case 'EFBIG':
      return 'the file is too large for its file system';
    case 'EROFS':
      return 'the file system is read-only';
    case 'EACCES':
    case 'EPERM':
      return 'writing is not permitted';
    default:
      return 'the disk failed the write';
  }
}
