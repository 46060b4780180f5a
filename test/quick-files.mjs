/**
 * One process of the suite's quick files (test/run.mjs starts it with `--import tsx` and an IPC
 * channel): it asks the runner for a file, runs that file's tests with uvu, ends its output with a
 * line that names the file, and asks again, until the runner has none left. The quick files are so
 * dealt out as processes become free, instead of in fixed shares: a process that drew the long files
 * no longer ends the suite alone while the other lanes stand idle.
 *
 * Everything a file writes (its tests, uvu's report, console.error) goes to stdout, in order, so that
 * the runner can tell where each file's output ends. A file whose tests fail, or that the process
 * dies in, is the runner's to count.
 */
import { pathToFileURL } from 'node:url';

/** What starts the line that ends a file's output (the runner's first argument): the runner splits the stream there. */
const FILE_END = process.argv[2];

process.stderr.write = process.stdout.write.bind(process.stdout);
globalThis.UVU_DEFER = 1;
const uvu = await import('uvu');

/** Asks the runner for the next file; null when there is none. */
function nextFile() {
  return new Promise((resolve) => {
    process.once('message', (message) => resolve(message.file ? message : null));
    process.send({ next: true });
  });
}

for (let next = await nextFile(); next !== null; next = await nextFile()) {
  const { file, name } = next;
  globalThis.UVU_QUEUE.length = 0;
  globalThis.UVU_QUEUE.push([name]);
  globalThis.UVU_INDEX = 0;
  process.exitCode = 0;
  await import(pathToFileURL(file).href);
  await uvu.exec();
  process.stdout.write(`${FILE_END}${process.exitCode === 1 ? 'failed' : 'passed'} ${file}\n`);
  process.exitCode = 0;
}
process.disconnect();
