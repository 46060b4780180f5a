/**
 * `runbook serve`: the run console in the browser — runs and fleets, live, with per-host outcomes,
 * timelines, diffs and handshake proof. Binds 127.0.0.1 unless told otherwise; another address needs
 * TLS (`--cert`/`--key`) or an explicit `--insecure`.
 */
import { readFile } from 'node:fs/promises';
import { ValidationError } from '../../errors.js';
import { ExitCode } from '../exit-codes.js';
import { COMMON_OPTIONS, UsageError, parse, storeOf, type Command } from '../common.js';

const usage = `Usage: runbook serve [--port N] [--host H --cert <file> --key <file> | --insecure] [--allow-actions]

The run console: every run and fleet of the store in the browser, live. Prints the address to open,
with a token (e.g. http://127.0.0.1:8740/?token=…); the token is exchanged for a session cookie.

Options
  --port N            the port (default 8740; 0: any free port)
  --host H            the address to listen on (default 127.0.0.1, this machine only); another
                      address needs --cert and --key (HTTPS), or --insecure
  --cert <file>       PEM certificate, with --key: HTTPS
  --key <file>        its PEM private key
  --insecure          allow plain HTTP on an address other than 127.0.0.1/::1/localhost
  --allow-actions     allow resume, rollback and relaunching a fleet's failed hosts from the page
                      (behind the token, with CSRF protection and a confirmation; each is journaled
                      in <state-dir>/console/actions.jsonl with who and when)

${COMMON_OPTIONS}`;

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** How `runbook serve` says where its live updates come from. */
const LIVE_SAYS = { watch: 'live: watching the state directory', listen: 'live: LISTEN/NOTIFY', poll: 'live: polling the store every second (it refused LISTEN)' } as const;

export const serve: Command = {
  name: 'serve',
  usage,
  async run(args) {
    const { values, positionals } = parse(args, {
      port: { type: 'string' },
      host: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      insecure: { type: 'boolean', default: false },
      'allow-actions': { type: 'boolean', default: false },
    });
    if (positionals.length > 0) throw new UsageError('serve takes no argument');
    const port = values.port === undefined ? 8740 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port takes a port number (0 to 65535), got "${values.port}"`);
    if (Boolean(values.cert) !== Boolean(values.key)) throw new UsageError('--cert and --key go together');
    const host = values.host ?? '127.0.0.1';
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
    }
    const where = await storeOf(values);
    const { startConsole } = await import('../../console/server.js');
    const c = await startConsole({ store: where.store, stateDir: where.stateDir, host, port, tls, allowActions: values['allow-actions'], storeUrl: values.store });
    if (values.json) process.stdout.write(`${JSON.stringify({ event: 'serving', url: c.url, port: c.port, live: c.liveMode, actions: values['allow-actions'] })}\n`);
    else {
      process.stdout.write(`runbook console: ${where.store.location} (${LIVE_SAYS[c.liveMode]}${values['allow-actions'] ? ', actions allowed' : ''})\n`);
      process.stdout.write(`open ${c.url}\n`);
    }
    await new Promise<void>((resolve) => {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
    });
    await c.close();
    return ExitCode.ok;
  },
};
