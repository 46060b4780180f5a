/**
 * The YAML parser, in a module of its own so that it is loaded only for a YAML document — a runbook
 * given by path, an inventory — by a dynamic import of this file (the `yaml` package is CommonJS,
 * which a bundle imports well only statically).
 */
export { LineCounter, parse, parseDocument } from 'yaml';

/**
 * A YAML parser's error in the operator's words where its own are a programmer's: a second document
 * (`please use YAML.parseAllDocuments()`) and a nesting too deep to parse (`Maximum call stack size
 * exceeded`); any other error as the parser words it (with its line, column and the text there).
 * `what` is what the file should hold: `a runbook`, `an inventory`.
 */
export function yamlErrorText(error: { code?: string; message: string; linePos?: [{ line: number; col: number }, ...unknown[]] }, what: string): string {
  const at = error.linePos ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}` : null;
  if (error.code === 'MULTIPLE_DOCS') {
    return `the file holds more than one YAML document: the "---"${at ? ` at ${at}` : ''} starts another; ${what} is one document — remove that line and what follows it, or put each document in a file of its own`;
  }
  // The parser's own code for it, or the stack overflow itself (how deep the parser gets before it
  // overflows depends on the stack left to it, so one document may yield either, or both).
  if (/call stack/i.test(error.message)) {
    return `the document nests too deeply to be read${at ? ` (at ${at})` : ''}: lists or mappings within each other thousands of levels deep, which ${what} never needs`;
  }
  return error.message;
}
