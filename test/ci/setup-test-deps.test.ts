/**
 * `.ci/setup-test-deps`, which `npm test` and `.ci/run` run first: it sets up the Debian packages of
 * `.ci/test-packages` and PowerShell, and where it cannot, stops at once with the command to run. Each
 * test runs a copy of the script in a checkout of its own (its own package list, whose one package is
 * "installed" when a file of the test's exists), with a PATH of its own: fake `id`, `apt-get`, `dotnet`
 * and `.ci/install-pwsh` that record their calls, and no real package manager.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SCRIPT = join(ROOT, '.ci', 'setup-test-deps');

/** The real tools a fake PATH keeps: bash for .ci/install-pwsh, and what the install path uses. */
const TOOLS = ['bash', 'mktemp', 'tail', 'sed', 'rm', 'mkdir', 'chmod'];
const which = (tool: string) => ['/usr/bin', '/bin'].map((d) => join(d, tool)).find((p) => existsSync(p))!;

const FAKES: Record<string, string> = {
  id: '[ "$1" = -u ] && echo "$FAKE_UID"\necho "id $*" >> "$CALLS"',
  'apt-get': [
    'echo "apt-get $* DEBIAN_FRONTEND=${DEBIAN_FRONTEND:-}" >> "$CALLS"',
    'if [ "$1" = update ] && [ "$FAKE_APT" = offline ]; then echo "E: Temporary failure resolving the package sources" >&2; exit 100; fi',
    'if [ "$1" = install ]; then for p in "$@"; do [ "$p" = rbe-test-peer ] && : > "$PROOF"; done; fi',
    'exit 0',
  ].join('\n'),
  dotnet: 'echo "dotnet $*" >> "$CALLS"',
};

interface Checkout {
  dir: string;
  /** What the fakes were asked, one line each. */
  calls(): string[];
  run(options: { uid?: number; apt?: 'ok' | 'offline' | 'absent'; dotnet?: boolean; env?: Record<string, string> }): { status: number | null; stdout: string; stderr: string };
}

/**
 * A checkout with the script, a package list of one package (`rbe-test-peer`, installed when `peer`
 * exists in it), npm's packages and — unless `pwsh: false` — PowerShell in .tools/pwsh.
 */
async function checkout({ peer = true, pwsh = true } = {}): Promise<Checkout> {
  const dir = await tempDir('rbe-setup-');
  const proof = join(dir, 'peer');
  await mkdir(join(dir, '.ci'));
  await copyFile(SCRIPT, join(dir, '.ci', 'setup-test-deps'));
  await writeFile(join(dir, '.ci', 'test-packages'), `# a test's list\n\nrbe-test-peer   ${proof}   what a test needs\n`);
  await writeFile(join(dir, '.ci', 'install-pwsh'), 'echo "install-pwsh" >> "$CALLS"\nmkdir -p .tools/pwsh && : > .tools/pwsh/pwsh && chmod +x .tools/pwsh/pwsh && : > .tools/pwsh/.readytorun\n');
  await mkdir(join(dir, 'node_modules', 'uvu'), { recursive: true });
  await mkdir(join(dir, 'node_modules', 'tsx'));
  if (peer) await writeFile(proof, '');
  if (pwsh) {
    await mkdir(join(dir, '.tools', 'pwsh'), { recursive: true });
    await writeFile(join(dir, '.tools', 'pwsh', 'pwsh'), '', { mode: 0o755 });
    await writeFile(join(dir, '.tools', 'pwsh', '.readytorun'), '');
  }
  const calls = join(dir, 'calls.log');
  await writeFile(calls, '');
  let n = 0;
  const bins: string[] = [];
  /** A PATH of the real tools and the fakes asked for. */
  async function bin(fakes: string[]): Promise<string> {
    const path = join(dir, `bin${n++}`);
    await mkdir(path);
    for (const tool of TOOLS) await symlink(which(tool), join(path, tool));
    for (const fake of fakes) {
      await writeFile(join(path, fake), `#!${which('bash')}\n${FAKES[fake]}\n`);
      await chmod(join(path, fake), 0o755);
    }
    bins.push(path);
    return path;
  }
  // Every combination the tests use, made up front (the runs themselves are synchronous).
  const paths = new Map<string, string>();
  for (const apt of [true, false]) for (const dotnet of [true, false]) paths.set(`${apt}/${dotnet}`, await bin(['id', ...(apt ? ['apt-get'] : []), ...(dotnet ? ['dotnet'] : [])]));
  return {
    dir,
    calls: () => readFileSync(calls, 'utf8').split('\n').filter(Boolean),
    run({ uid = 0, apt = 'ok', dotnet = true, env = {} }) {
      const r = spawnSync(which('bash'), [join(dir, '.ci', 'setup-test-deps')], {
        cwd: dir,
        encoding: 'utf8',
        env: { PATH: paths.get(`${apt !== 'absent'}/${dotnet}`)!, CALLS: calls, PROOF: proof, FAKE_UID: String(uid), FAKE_APT: apt, ...env },
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
  };
}

test('with everything there it exits 0 at once, says nothing and runs nothing', async () => {
  const c = await checkout();
  const r = c.run({});
  assert.equal([r.status, r.stdout, r.stderr], [0, '', '']);
  assert.equal(c.calls(), []);
});

test('as a user who is not root it stops at once with the sudo apt-get command, and installs nothing', async () => {
  const c = await checkout({ peer: false, pwsh: false });
  const r = c.run({ uid: 1000 });
  assert.is(r.status, 1);
  assert.ok(r.stderr.includes('\n  sudo apt-get update && sudo apt-get install -y rbe-test-peer\n'), r.stderr);
  assert.ok(r.stderr.includes(`rbe-test-peer (${join(c.dir, 'peer')}): what a test needs`), r.stderr);
  // PowerShell is told too, not installed: nothing long runs before a refusal.
  assert.ok(r.stderr.includes('\n  bash .ci/install-pwsh\n'), r.stderr);
  assert.match(r.stderr, /Then run npm test again\.\n$/);
  assert.equal(c.calls(), ['id -u']);
});

test('as root on a machine without apt-get it stops at once with the packages to install', async () => {
  const c = await checkout({ peer: false });
  const r = c.run({ apt: 'absent' });
  assert.is(r.status, 1);
  assert.ok(r.stderr.includes('there is no apt-get here'), r.stderr);
  assert.ok(r.stderr.includes('\n  apt-get update && apt-get install -y rbe-test-peer\n'), r.stderr);
  assert.equal(c.calls(), ['id -u']);
});

test('as root offline it stops when apt-get cannot update, with what apt-get said and the command to run later', async () => {
  const c = await checkout({ peer: false });
  const r = c.run({ apt: 'offline' });
  assert.is(r.status, 1);
  assert.ok(r.stderr.includes('E: Temporary failure resolving the package sources'), r.stderr);
  assert.ok(r.stderr.includes('\n  apt-get update && apt-get install -y rbe-test-peer\n'), r.stderr);
  assert.equal(c.calls(), ['id -u', 'apt-get update -qq DEBIAN_FRONTEND=']);
});

test('as root with apt-get it installs the missing packages without questions, and a second run does nothing', async () => {
  const c = await checkout({ peer: false });
  const first = c.run({});
  assert.is(first.status, 0, first.stderr);
  assert.ok(first.stderr.includes('== Debian packages for the tests: rbe-test-peer'), first.stderr);
  assert.equal(c.calls(), ['id -u', 'apt-get update -qq DEBIAN_FRONTEND=', 'apt-get install -y -qq rbe-test-peer DEBIAN_FRONTEND=noninteractive']);
  const again = c.run({});
  assert.equal([again.status, again.stderr], [0, '']);
  assert.is(c.calls().length, 3);
});

test('a package that apt-get installed but whose file is still missing stops the tests, naming the file', async () => {
  const c = await checkout({ peer: false });
  await writeFile(join(c.dir, '.ci', 'test-packages'), `rbe-test-peer ${join(c.dir, 'peer')} x\nrbe-other ${join(c.dir, 'other')} y\n`);
  const r = c.run({});
  assert.is(r.status, 1);
  assert.ok(r.stderr.includes(`rbe-other: ${join(c.dir, 'other')} is still missing after the install`), r.stderr);
});

test('PowerShell is installed with .ci/install-pwsh where dotnet is; without dotnet it stops with what to do', async () => {
  const c = await checkout({ pwsh: false });
  const none = c.run({ dotnet: false });
  assert.is(none.status, 1);
  assert.ok(none.stderr.includes('there is no dotnet here'), none.stderr);
  assert.ok(none.stderr.includes('\n  bash .ci/install-pwsh\n') && none.stderr.includes('\n  export RUNBOOK_PWSH=/path/to/pwsh\n'), none.stderr);
  assert.equal(c.calls(), []);
  const r = c.run({});
  assert.is(r.status, 0, r.stderr);
  assert.equal(c.calls(), ['install-pwsh']);
  assert.is(c.run({}).status, 0);
  assert.equal(c.calls(), ['install-pwsh']);
});

test('RUNBOOK_PWSH names the PowerShell instead of .tools/pwsh; one that is not there stops the tests', async () => {
  const c = await checkout({ pwsh: false });
  assert.is(c.run({ env: { RUNBOOK_PWSH: which('bash') } }).status, 0);
  const r = c.run({ env: { RUNBOOK_PWSH: '/nowhere/pwsh' } });
  assert.is(r.status, 1);
  assert.ok(r.stderr.includes('RUNBOOK_PWSH=/nowhere/pwsh is not an executable PowerShell'), r.stderr);
  assert.equal(c.calls(), []);
});

test('without npm\'s packages it says to run npm ci', async () => {
  const c = await checkout();
  const r = spawnSync(which('bash'), ['-c', `rm -r node_modules && bash .ci/setup-test-deps`], { cwd: c.dir, encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
  assert.is(r.status, 1);
  assert.ok(r.stderr.includes('\n  npm ci\n'), r.stderr);
});

test('npm test and .ci/run set up through this one script and its one list', async () => {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts.pretest, /^bash \.ci\/setup-test-deps && /);
  const ci = await readFile(join(ROOT, '.ci', 'run'), 'utf8');
  assert.ok(ci.includes('bash .ci/setup-test-deps'), '.ci/run runs the set-up');
  assert.not.match(ci.replace(/^\s*#.*$/gm, ''), /apt-get|install-pwsh/, '.ci/run installs nothing of its own');
  const rows = (await readFile(join(ROOT, '.ci', 'test-packages'), 'utf8')).split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  assert.ok(rows.length >= 8, rows.join('\n'));
  for (const row of rows) assert.ok(row.trim().split(/\s+/).length >= 3, `a package, the file that shows it installed, and what needs it: ${row}`);
});

test.run();
