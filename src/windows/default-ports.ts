/**
 * The port a target's transport uses when its text names none — the one place that says so. WinRM's
 * come from the Windows fact `winrm.default-ports`, read at each call (never copied into a table at
 * load), so that every decision by them — one address or two, whether a WinRM session is the HTTPS
 * listener a handshake can prove, where a client connects — follows the fact.
 */
import { WINRM_DEFAULT_PORTS } from './facts/winrm-service.js';

/**
 * SSH's port, for `ssh://` and `pwsh+ssh://`: IANA's assignment and OpenSSH's default, not a Windows
 * fact (Windows' OpenSSH server reads the same `Port` default from its sshd_config).
 */
export const SSH_DEFAULT_PORT = 22;

/**
 * WinRM's port over HTTP or HTTPS when none is named (`winrm.default-ports`).
 *
 * @example
 * ```ts
 * winrmDefaultPort('https'); // 5986
 * ```
 */
export function winrmDefaultPort(scheme: 'http' | 'https'): number {
  return WINRM_DEFAULT_PORTS.value[scheme];
}

/**
 * The port a target URL's scheme (`URL.protocol`, with its colon) uses when the URL names none, or
 * `undefined` for a scheme that has none (`sim:`, `local`).
 *
 * @example
 * ```ts
 * defaultPortOf('winrm:'); // 5985
 * defaultPortOf('winrm+https:'); // 5986
 * defaultPortOf('pwsh+ssh:'); // 22
 * ```
 */
export function defaultPortOf(protocol: string): number | undefined {
  switch (protocol) {
    case 'ssh:':
    case 'pwsh+ssh:':
      return SSH_DEFAULT_PORT;
    case 'winrm:':
      return winrmDefaultPort('http');
    case 'winrm+https:':
      return winrmDefaultPort('https');
    default:
      return undefined;
  }
}
