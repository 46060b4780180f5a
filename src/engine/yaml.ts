/**
 * The YAML parser, in a module of its own so that it is loaded only for a YAML document — a runbook
 * given by path, an inventory — by a dynamic import of this file (the `yaml` package is CommonJS,
 * which a bundle imports well only statically).
 */
export { LineCounter, parse, parseDocument } from 'yaml';
