/**
 * The run console with a live fleet of 1,000 simulated hosts against one of 10, in the same run:
 * the fleet page's first render (from the route change to every host's row drawn, the server's reads
 * included) and, while the fleet runs, the updates the page receives (server-sent batches per second,
 * host rows patched per second, the page's script time per batch). The fleet is driven by the built
 * CLI in a child process (as a person would), the console in this process, the page in Debian's
 * Chromium. Hosts: Server 2016, 50 ms per round trip, a 2 s restart, no TLS endpoints (the handshakes
 * are not what is measured), 200 at a time.
 *
 *   npm run build && node --import tsx bench/console.ts [big] [small]
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { createPreset, fileStore, writeHost } from '../src/index.js';
import { startConsole } from '../src/console/server.js';
import { CLI } from '../test/cli/run-cli.js';
import { tempDir } from '../test/helpers.js';

const BIG = Number(process.argv[2] ?? 1000);
const SMALL = Number(process.argv[3] ?? 10);

type Figures = { hosts: number; firstRenderMs: number; seconds: number; updatesPerS: number; rowsPerS: number; scriptMsPerUpdate: number; fleetS: number };

async function measure(count: number, browser: import('playwright-core').Browser): Promise<Figures> {
  const dir = await tempDir('rbe-bench-console-');
  const state = join(dir, 'state');
  await mkdir(join(state, 'runs'), { recursive: true });
  const names = Array.from({ length: count }, (_, i) => `h${String(i).padStart(4, '0')}`);
  for (const name of names) {
    const h = createPreset('server-2016');
    h.latencyMs = 50;
    h.downtimeMs = 2000;
    h.endpoints = [];
    await writeHost(join(dir, `${name}.json`), h);
  }
  const inventory = join(dir, 'inventory.yaml');
  await writeFile(inventory, JSON.stringify({ defaults: { params: { pollIntervalMs: 200 } }, hosts: names.map((name) => ({ name, target: `sim:${name}.json` })) }));
  const console_ = await startConsole({ store: fileStore(state), stateDir: state, port: 0 });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    await page.goto(console_.url);
    await page.waitForSelector('#main h1');
    const began = Date.now();
    const fleet = spawn(process.execPath, [CLI, 'run', 'orchestrator-tls12', '--inventory', inventory, '--state-dir', state, '--concurrency', '200'], { stdio: 'ignore' });
    const done = new Promise<void>((r) => fleet.on('close', () => r()));
    let fleetId: string | undefined;
    while (!fleetId) {
      fleetId = (await readdir(join(state, 'fleets')).catch(() => []))[0];
      if (!fleetId) await new Promise((r) => setTimeout(r, 50));
    }
    // Wait until the fleet is under way (its first host's journal), then open its page.
    while ((await readdir(join(state, 'runs'))).length < Math.min(count, 5)) await new Promise((r) => setTimeout(r, 50));
    const firstRenderMs = await page.evaluate(async ({ id, n }) => {
      const t0 = performance.now();
      location.hash = `#/fleet/${id}`;
      while (document.querySelectorAll('table.matrix tbody tr').length < n) await new Promise((r) => requestAnimationFrame(r));
      return performance.now() - t0;
    }, { id: fleetId, n: count });
    const stats = () => page.evaluate(() => ({ ...(window as unknown as { runbookConsole: { updates: number; rows: number; applyMs: number } }).runbookConsole }));
    const s0 = await stats();
    const t0 = Date.now();
    await done;
    // The last batch lands within the interval.
    await new Promise((r) => setTimeout(r, 600));
    const s1 = await stats();
    const seconds = (Date.now() - t0) / 1000;
    const updates = s1.updates - s0.updates;
    return {
      hosts: count,
      firstRenderMs,
      seconds,
      updatesPerS: updates / seconds,
      rowsPerS: (s1.rows - s0.rows) / seconds,
      scriptMsPerUpdate: updates ? (s1.applyMs - s0.applyMs) / updates : 0,
      fleetS: (Date.now() - began) / 1000,
    };
  } finally {
    await page.close();
    await console_.close();
  }
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
try {
  // A first pass warms up the browser, the server's modules and the JIT; it is not reported.
  await measure(SMALL, browser);
  const small = await measure(SMALL, browser);
  const big = await measure(BIG, browser);
  const row = (f: Figures) =>
    `${String(f.hosts).padStart(6)} hosts: first render ${f.firstRenderMs.toFixed(0).padStart(5)} ms · live ${f.seconds.toFixed(1)} s: ${f.updatesPerS.toFixed(2)} updates/s, ${f.rowsPerS.toFixed(1)} rows/s, ${f.scriptMsPerUpdate.toFixed(2)} ms script per update · fleet ${f.fleetS.toFixed(1)} s`;
  process.stdout.write(`console bench (fleet driven by the CLI, 200 hosts at a time; updates batched every 250 ms)\n${row(small)}\n${row(big)}\n`);
  process.stdout.write(
    `ratios ${BIG}/${SMALL}: first render ×${(big.firstRenderMs / small.firstRenderMs).toFixed(1)} for ×${BIG / SMALL} hosts; updates/s ×${(big.updatesPerS / Math.max(small.updatesPerS, 1e-9)).toFixed(2)} (the batching caps it at 4/s); script per update ×${(big.scriptMsPerUpdate / Math.max(small.scriptMsPerUpdate, 1e-9)).toFixed(1)}\n`,
  );
} finally {
  await browser.close();
}
