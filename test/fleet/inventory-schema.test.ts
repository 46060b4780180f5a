/**
 * schemas/inventory.schema.json (for editors: `# yaml-language-server: $schema=…`) is the inventory's
 * own schema written out. When the schema changes, `node --import tsx test/fleet/inventory-schema.test.ts --write`
 * writes it again.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inventoryJsonSchema } from '../../src/fleet/inventory.js';

const FILE = join(import.meta.dirname, '..', '..', 'schemas', 'inventory.schema.json');
const text = `${JSON.stringify(inventoryJsonSchema(), null, 2)}\n`;
if (process.argv.includes('--write')) writeFileSync(FILE, text);

test('the JSON Schema shipped for editors is the inventory schema the engine validates with', () => {
  assert.is(readFileSync(FILE, 'utf8'), text, 'run: node --import tsx test/fleet/inventory-schema.test.ts --write');
  const schema = JSON.parse(text);
  assert.equal(schema.required, ['hosts']);
  assert.match(schema.properties.hosts.items.properties.target.description, /credentials come from the environment/);
});

test.run();
