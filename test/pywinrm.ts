/**
 * An independent WinRM client for the tests: Debian's python3-winrm (pywinrm) running
 * `pywinrm-client.py` with a JSON plan, OpenSSL's legacy provider (MD4, which pywinrm's NTLM needs)
 * enabled for that process only. Missing pywinrm fails the test: .ci/run installs python3-winrm.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
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

/**
 * Runs one plan (see pywinrm-client.py: endpoint, transport, user, password, encryption, ca, step…)
 * and returns the client's one-line JSON report: `{ ok: true, … }` or `{ ok: false, error, message, code? }`.
 */
export async function pywinrm(plan: Record<string, unknown>): Promise<Record<string, unknown>> {
  const dir = await tempDir('rbe-pywinrm-');
  const conf = join(dir, 'openssl.cnf');
  await writeFile(conf, LEGACY_PROVIDER);
  const file = join(dir, 'plan.json');
  await writeFile(file, JSON.stringify(plan));
  const script = join(import.meta.dirname, 'pywinrm-client.py');
  try {
    const { stdout } = await promisify(execFile)(PYTHON, [script, file], { env: { ...process.env, OPENSSL_CONF: conf }, timeout: 90_000 });
    return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    if (/No module named 'winrm'|ENOENT/.test(`${e.stderr ?? ''}${e.message}`)) {
      throw new Error(`Debian's python3-winrm is required (apt-get install python3-winrm; .ci/run installs it): ${e.message}`);
    }
    throw error;
  }
}
