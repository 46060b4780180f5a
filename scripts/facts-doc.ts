// Writes docs/windows-facts.md from the facts table (src/windows/facts/). `npm run facts:doc`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WINDOWS_FACTS } from '../src/windows/facts/index.js';
import { renderFactsDoc } from '../src/windows/facts/doc.js';

const out = join(import.meta.dirname, '..', 'docs', 'windows-facts.md');
writeFileSync(out, renderFactsDoc(WINDOWS_FACTS));
console.log(`wrote ${out} (${WINDOWS_FACTS.length} facts)`);
