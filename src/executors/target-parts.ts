/**
 * The host and port of a network target (`ssh://`, `pwsh+ssh://`, `winrm://`), checked as each parser
 * reads them: a port a socket cannot use, or a host name a client could take for an option, is refused
 * before anything is made or contacted.
 */
import { withoutPassword } from '../util/without-password.js';

/**
 * The port a target names (`text`, its digits), or `fallback` when it names none; one outside 1–65535
 * is refused (port 0 would reach the default port, 65536 fails in Node with an internal message).
 *
 * @example
 * ```ts
 * targetPort('2222', 22, 'ssh://admin@orch01:2222'); // 2222
 * targetPort(undefined, 22, 'ssh://admin@orch01'); // 22
 * targetPort('0', 22, 'ssh://admin@orch01:0'); // throws: the port 0 is not between 1 and 65535
 * ```
 */
export function targetPort(text: string | undefined, fallback: number, target: string): number {
  if (text === undefined) return fallback;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`"${withoutPassword(target)}": the port ${text.replace(/^0+(?=\d)/, '')} is not between 1 and 65535`);
  return port;
}

/**
 * A target's host name, refused when it starts with `-`: a client that takes the host on its command
 * line (OpenSSH's `ssh`, PowerShell remoting over SSH) would read `-oProxyCommand=…` as an option and
 * run it. No host name or address starts with one.
 *
 * @example
 * ```ts
 * targetHost('orch01', 'ssh://admin@orch01'); // 'orch01'
 * targetHost('-oProxyCommand=x', 'ssh://admin@-oProxyCommand=x'); // throws: starts with "-"
 * ```
 */
export function targetHost(host: string, target: string): string {
  if (host.startsWith('-')) {
    throw new Error(`"${withoutPassword(target)}": the host "${host}" starts with "-", which a client given it on its command line (ssh, PowerShell) would read as an option; a host name or address starts with a letter, a digit or "["`);
  }
  return host;
}
