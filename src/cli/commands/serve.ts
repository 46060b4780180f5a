/**
 * `runbook serve`: the run console in the browser — runs and fleets, live, with per-host outcomes,
 * timelines, diffs and handshake proof. Binds 127.0.0.1 unless told otherwise; another address needs
 * TLS (`--cert`/`--key`) or an explicit `--insecure`.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { ValidationError } from '../../errors.js';
import type { ActionEntry } from '../../console/actions.js';
import { ExitCode } from '../exit-codes.js';
import { Option } from 'commander';
import { UsageError, act, commandNamed, wholeNumber, withCommonOptions, type CommonOptions, type RunbookCommand } from '../args.js';
import { missingStateDirNote, storeOf } from '../state.js';

interface ServeOptions extends CommonOptions {
  port: number;
  host: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
  allowActions?: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** How `runbook serve` says where its live updates come from. */
const LIVE_SAYS = { watch: 'live: watching the state directory', listen: 'live: LISTEN/NOTIFY', poll: 'live: polling the store every second (it refused LISTEN)' } as const;

/**
 * `runbook serve`: the run console in the browser.
 *
 * @example
 * ```ts
 * serve.declare().helpInformation(); // 'Usage: runbook serve [options]…'
 * ```
 */
export const serve: RunbookCommand = {
  name: 'serve',
  declare: () =>
    act(
      withCommonOptions(
        commandNamed('serve')
          .usage('[--port N] [--host H --cert <file> --key <file> | --insecure] [--allow-actions] [options]')
          .description(
            [
              'The run console: every run and fleet of the store in the browser, live. Prints the address to open,',
              'with a token (e.g. http://127.0.0.1:8740/?token=…); the token is exchanged for a session cookie.',
            ].join(' '),
          )
          .addOption(new Option('--port <N>', 'the port (0: any free port)').default(8740).argParser(wholeNumber(0, 65535)))
          .option('--host <H>', 'the address to listen on (127.0.0.1: this machine only); another address needs --cert and --key (HTTPS), or --insecure', '127.0.0.1')
          .option('--cert <file>', 'PEM certificate, with --key: HTTPS')
          .option('--key <file>', 'its PEM private key')
          .option('--insecure', 'allow plain HTTP on an address other than 127.0.0.1/::1/localhost')
          .option('--allow-actions', "allow resume, rollback and relaunching a fleet's failed hosts from the page (behind the token, with CSRF protection and a confirmation; each is journaled in <state-dir>/console/actions.jsonl with who and when)"),
        { json: "one JSON line when serving (its address), then one per action's journal entry" },
      ),
      serveCommand,
    ),
};

/**
 * Why the console could not listen on `--host`/`--port`, as a usage error that says what to give
 * instead; undefined for any other failure.
 *
 * @example
 * ```ts
 * listenRefused(Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' }), '127.0.0.1', 8740)?.message;
 * // 'cannot serve the console on 127.0.0.1:8740: the port is in use (another program listens on it): give another --port, or --port 0 for any free one'
 * ```
 */
export function listenRefused(error: unknown, host: string, port: number): UsageError | undefined {
  const on = `cannot serve the console on ${host.includes(':') ? `[${host}]` : host}${port === 0 ? ' (any free port)' : `:${port}`}`;
  switch ((error as NodeJS.ErrnoException | undefined)?.code) {
    case 'EADDRINUSE':
      return new UsageError(`${on}: the port is in use (another program listens on it): give another --port, or --port 0 for any free one`);
    case 'EADDRNOTAVAIL':
      return new UsageError(`${on}: ${host} is not an address of this machine: give --host one of its addresses (127.0.0.1: this machine only; 0.0.0.0: all of them)`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new UsageError(`${on}: ${host} is not a name this machine can resolve: give --host one of its addresses or names (127.0.0.1: this machine only)`);
    case 'EACCES':
    case 'EPERM':
      return new UsageError(
        port > 0 && port < 1024
          ? `${on}: ports below 1024 need privileges this process does not have (root, or CAP_NET_BIND_SERVICE): give --port 1024 or above, or --port 0 for any free one`
          : `${on}: this system does not permit listening there: give another --port or --host (--port 0: any free port)`,
      );
    default:
      return undefined;
  }
}

async function serveCommand(values: ServeOptions): Promise<number> {
  const { port, host } = values;
  if (Boolean(values.cert) !== Boolean(values.key)) throw new UsageError('--cert and --key go together');
  if (!LOOPBACK.has(host) && !values.cert && !values.insecure) {
    throw new UsageError(`--host ${host} would serve the console to the network in clear text: give --cert and --key (HTTPS), or --insecure if the network is trusted`);
  }
  let tls: { cert: string; key: string } | undefined;
  if (values.cert && values.key) {
    try {
      tls = { cert: await readFile(values.cert, 'utf8'), key: await readFile(values.key, 'utf8') };
    } catch (cause) {
      throw new ValidationError('cannot read the certificate or its key', [(cause as Error).message], { hint: 'give PEM files to --cert and --key', cause });
    }
    // Read is not yet usable: a file that is not PEM, or a key that is not the certificate's, is the operator's
    // input (exit 2, both files named) — found here, not as a stack trace from the server's creation.
    try {
      createSecureContext(tls);
    } catch (cause) {
      throw new ValidationError(`cannot use --cert ${values.cert} with --key ${values.key}: ${tlsProblem(cause)}`, [resolve(values.cert), resolve(values.key)], { hint: 'give --cert a PEM certificate and --key its own PEM private key (unencrypted); nothing was served', cause });
    }
  }
  // As `status`: the state directory is read as it is, nothing made (with --allow-actions it is checked
  // as for a run, since actions write there); a missing one has no runs, and that is said at start.
  const where = await storeOf(values, values.allowActions ? { checkOnly: true } : { readOnly: true });
  const missing = missingStateDirNote(where);
  if (missing) process.stderr.write(`note: no runs in ${where.store.location}${missing}; runs started there later are shown\n`);
  const { startConsole } = await import('../../console/server.js');
  const c = await startConsole({ store: where.store, stateDir: where.stateDir, host, port, tls, allowActions: values.allowActions === true, storeUrl: values.store,
    // With --json, each action's journal entry is a line too, `{"event": "action", "entry": {…}}`: a
    // caller learns that an action's process ended (entry.event "ended") without polling.
    ...(values.json ? { onAction: (entry: ActionEntry) => process.stdout.write(`${JSON.stringify({ event: 'action', entry })}\n`) } : {}),
  }).catch((error: unknown) => {
    throw listenRefused(error, host, port) ?? error;
  });
  // Listening for the signals before the address is printed: a caller that stops the console as soon as
  // it reads the line must find the handler there (the signal's default would end the process unclean).
  const stopped = new Promise<void>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
  });
  if (values.json) process.stdout.write(`${JSON.stringify({ event: 'serving', url: c.url, port: c.port, live: c.liveMode, actions: values.allowActions === true })}\n`);
  else {
    process.stdout.write(`runbook console: ${where.store.location} (${LIVE_SAYS[c.liveMode]}${values.allowActions ? ', actions allowed' : ''})\n`);
    process.stdout.write(`open ${c.url}\n`);
  }
  await stopped;
  await c.close();
  return ExitCode.ok;
}

/** Why OpenSSL refused a certificate and key, in a few words (its code, then its text). */
function tlsProblem(cause: unknown): string {
  const e = cause as { code?: unknown; message?: unknown; reason?: unknown };
  const text = typeof e.message === 'string' ? e.message.split('\n')[0] : String(cause);
  if (/KEY_VALUES_MISMATCH|values mismatch/i.test(`${String(e.code)} ${text}`)) return 'the key is not the private key of this certificate';
  if (/NO_START_LINE|no start line|bad base64|PEM/i.test(`${String(e.code)} ${text}`)) return `a file is not PEM (${text})`;
  return text;
}
