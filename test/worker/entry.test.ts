/**
 * The library's doors to the PostgreSQL store (src/worker/entry.ts, beside src/store/shared.ts). Without pg and pg-boss installed
 * they fail with the command that installs them: test/package.test.ts proves that on the packed package.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { enqueueFleet, startWorker } from '../../src/worker/entry.js';
import { fileStore } from '../../src/store/file-store.js';
import type { PostgresStore } from '../../src/store/types.js';
import type { FleetRecord } from '../../src/fleet/types.js';
import type { Runner } from '../../src/engine/runner.js';
import { tempDir } from '../helpers.js';

test('a store that postgresStore() did not open is refused by startWorker and enqueueFleet, naming what was given', async () => {
  const dir = await tempDir('rbe-shared-');
  // What a JavaScript caller could pass: a file store where a PostgreSQL one is needed.
  const store = fileStore(dir) as unknown as PostgresStore;
  for (const attempt of [() => startWorker({ store, runner: {} as Runner, connect: async () => { throw new Error('not called'); } }), () => enqueueFleet(store, {} as FleetRecord)]) {
    try {
      await attempt();
      assert.unreachable('refused');
    } catch (error) {
      assert.instance(error, TypeError);
      assert.is((error as Error).message, `a PostgreSQL store opened by postgresStore() is needed here, not a file store (${dir})`);
    }
  }
});

test.run();
