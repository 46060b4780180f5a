/**
 * An independent WinRM client for the tests: Debian's python3-winrm (pywinrm) running
 * `pywinrm-client.py` with a JSON plan, OpenSSL's legacy provider (MD4, which pywinrm's NTLM needs)
 * enabled for that process only. Missing pywinrm fails the test: .ci/run installs python3-winrm.
 *
 * One Python process serves a test file's plans, one after another (`pywinrm-client.py --serve`):
 * Python's start and pywinrm's import cost ~0.35 s of CPU, paid once instead of once a plan. Each plan
 * still has a pywinrm Protocol of its own (its own HTTP session and NTLM context).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Socket } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from './helpers.js';

/** Debian's Python, where python3-winrm is installed (not a pyenv or virtualenv python on PATH). */
export const PYTHON = '/usr/bin/python3';

const LEGACY_PROVIDER = [
  'openssl_conf = openssl_init',
  '[openssl_init]',
  'providers = provider_sect',
  '[provider_sect]',
  'default = default_sect',
  'legacy = legacy_sect',
  '[default_sect]',
  'activate = 1',
  '[legacy_sect]',
  'activate = 1',
  '',
].join('\n');

/** How long one plan may take before the client is ended and the plan fails. */
const PLAN_TIMEOUT_MS = 90_000;

/** The serving client: its process, the output not yet answered, what it wrote on stderr. */
interface Client {
  child: ChildProcessWithoutNullStreams;
  stdout: string;
  stderr: string;
  /** Called with each whole line of output, or with null when the process ended. */
  onLine?: (line: string | null) => void;
}

let client: Promise<Client> | undefined;
let queue: Promise<unknown> = Promise.resolve();

/** The pipes are sockets: unreferenced, an idle client does not keep the test process alive. */
function unrefPipes(child: ChildProcessWithoutNullStreams): void {
  for (const pipe of [child.stdin, child.stdout, child.stderr] as unknown as Socket[]) pipe.unref();
}

async function startClient(): Promise<Client> {
  const dir = await tempDir('rbe-pywinrm-');
  const conf = join(dir, 'openssl.cnf');
  await writeFile(conf, LEGACY_PROVIDER);
  const script = join(import.meta.dirname, 'pywinrm-client.py');
  const child = spawn(PYTHON, [script, '--serve'], { env: { ...process.env, OPENSSL_CONF: conf }, stdio: 'pipe' });
  const c: Client = { child, stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    c.stdout += d;
    for (let nl = c.stdout.indexOf('\n'); nl >= 0; nl = c.stdout.indexOf('\n')) {
      const line = c.stdout.slice(0, nl);
      c.stdout = c.stdout.slice(nl + 1);
      c.onLine?.(line);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (c.stderr += d));
  child.on('error', (error) => ((c.stderr += error.message), c.onLine?.(null)));
  child.on('close', () => c.onLine?.(null));
  child.unref();
  unrefPipes(child);
  return c;
}

/** The error of a client that ended, with the hint when pywinrm is not installed. */
function ended(c: Client): Error {
  const text = `${c.stderr}${c.child.exitCode ?? c.child.signalCode ?? ''}`;
  if (/No module named 'winrm'|ENOENT/.test(text)) {
    return new Error(`Debian's python3-winrm is required (apt-get install python3-winrm; .ci/run installs it): ${c.stderr}`);
  }
  return new Error(`pywinrm-client.py ended (${c.child.exitCode ?? c.child.signalCode}): ${c.stderr}`);
}

async function runPlan(plan: Record<string, unknown>): Promise<Record<string, unknown>> {
  client ??= startClient();
  const c = await client;
  if (c.child.exitCode !== null || c.child.signalCode !== null) {
    client = undefined;
    throw ended(c);
  }
  return new Promise((resolve, reject) => {
    // Referenced while the plan is under way: the test awaits it.
    const timer = setTimeout(() => {
      c.onLine = undefined;
      client = undefined;
      c.child.kill('SIGKILL');
      reject(new Error(`pywinrm-client.py did not answer within ${PLAN_TIMEOUT_MS} ms: ${c.stderr}`));
    }, PLAN_TIMEOUT_MS);
    c.onLine = (line) => {
      clearTimeout(timer);
      c.onLine = undefined;
      if (line === null) {
        client = undefined;
        reject(ended(c));
        return;
      }
      const answer = JSON.parse(line) as Record<string, unknown>;
      if (typeof answer.crashed === 'string') reject(new Error(`pywinrm-client.py failed on the plan: ${answer.crashed}`));
      else resolve(answer);
    };
    c.child.stdin.write(`${JSON.stringify(plan)}\n`);
  });
}

/**
 * Runs one plan (see pywinrm-client.py: endpoint, transport, user, password, encryption, ca, step…)
 * and returns the client's one-line JSON report: `{ ok: true, … }` or `{ ok: false, error, message, code? }`.
 */
export function pywinrm(plan: Record<string, unknown>): Promise<Record<string, unknown>> {
  const result = queue.then(() => runPlan(plan));
  queue = result.catch(() => undefined);
  return result;
}
