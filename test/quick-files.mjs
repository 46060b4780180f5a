/**
 * One process of the suite's quick files (test/run.mjs starts it with `--import tsx` and an IPC
 * channel): it asks the runner for a file, writes a line saying it starts it, runs that file's tests
 * with uvu, writes a line saying how the file ended, and asks again, until the runner has none left.
 * The quick files are so dealt out as processes become free, instead of in fixed shares: a process
 * that drew the long files no longer ends the suite alone while the other lanes stand idle.
 *
 * The runner merges this process's standard error into its standard output (one pipe), and
 * console.error is sent to stdout here too, so that each file's output, whatever wrote it, lies between
 * its two lines. How a file that dies or hangs is counted is the runner's to decide.
 */
import { pathToFileURL } from 'node:url';

/** What starts the lines that frame a file's output (the runner's first argument). */
const MARK = process.argv[2];

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
  process.stdout.write(`${MARK}start ${file}\n`);
  globalThis.UVU_QUEUE.length = 0;
  globalThis.UVU_QUEUE.push([name]);
  globalThis.UVU_INDEX = 0;
  process.exitCode = 0;
  await import(pathToFileURL(file).href);
  await uvu.exec();
  // A turn of the event loop before the file is said to have ended: a timer or a rejection it left
  // behind that fires at once is then counted against it, not against the next file.
  await new Promise((resolve) => setTimeout(resolve, 5));
  process.stdout.write(`${MARK}end ${process.exitCode === 1 ? 'failed' : 'passed'} ${file}\n`);
  process.exitCode = 0;
}
process.disconnect();
