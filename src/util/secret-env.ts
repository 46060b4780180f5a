/**
 * The environment a child process is given: this process's without the variables that hold secrets.
 * A secret parameter is read from its environment variable (the runbook's `env:`), and the transports'
 * passwords from `RUNBOOK_*_PASSWORD` / `RUNBOOK_*_PASSPHRASE`; a child that inherited them would hand
 * them on to whatever it starts (reg.exe, shutdown.exe, schtasks) and to anything that reads a process's
 * environment. The agent gets the values it needs as JSON data on its standard input instead.
 */

/** The environment variables secret parameters were read from, in this process. */
const secretNames = new Set<string>();

/**
 * Credentials: the transports' (`RUNBOOK_WINRM_PASSWORD`, `RUNBOOK_SSH_PASSWORD`, `RUNBOOK_SSH_PASSPHRASE`,
 * `RUNBOOK_SIM_WINRM_PASSWORD`) and the store's (`RUNBOOK_STORE`, whose URL may carry a password, and
 * `PGPASSWORD`): no agent or program it starts uses the store.
 */
const CREDENTIAL = /^(RUNBOOK_\w*_(PASSWORD|PASSPHRASE)|RUNBOOK_STORE|PGPASSWORD)$/i;

/** Records that `name` holds a secret parameter's value: child processes are not given it. */
export function markSecretEnv(name: string): void {
  secretNames.add(name);
}

/**
 * This process's environment with `extra` over it, less every secret variable ({@link markSecretEnv}
 * and the transports' passwords) but those named in `keep` (a child that needs one, such as the
 * remoting host's WinRM password). Pass it with execa's `extendEnv: false`.
 */
export function childEnv(extra: Record<string, string> = {}, keep: readonly string[] = []): Record<string, string> {
  const env: Record<string, string> = {};
  const upper = new Set([...secretNames].map((n) => n.toUpperCase()));
  for (const [name, value] of Object.entries({ ...process.env, ...extra })) {
    if (value === undefined) continue;
    // Windows's variable names are case-insensitive: compared upper-cased.
    const secret = upper.has(name.toUpperCase()) || CREDENTIAL.test(name);
    if (secret && !keep.includes(name)) continue;
    env[name] = value;
  }
  return env;
}
