/**
 * The schema library every schema of this project is written with: zod's functional build
 * (`zod/mini`), with zod's English messages. `zod/mini` shares zod's core (the same parsing, the same
 * issues and messages) without the chained methods `zod` attaches to every schema it makes; loading it
 * costs a process about half as much, and every command that runs a runbook loads the step kinds'
 * schemas as it starts. The engine takes any zod 4 schema: a step kind of one's own may be written
 * with `zod` (see docs/runbooks.md).
 *
 * Every schema of the project takes its functions from here, as the namespace `z`.
 *
 * `zod` sets English as the default language of its messages when it makes its first schema;
 * `zod/mini` leaves that to the program. Set here, only where no language is set yet, as `zod` does.
 */
import { config, globalConfig, type $ZodObject, type $ZodShape, type $ZodType } from 'zod/v4/core';
import en from 'zod/v4/locales/en.js';
import { regex, string } from 'zod/mini';

if (!globalConfig.localeError) config(en());

// The functions this project's schemas use, named one by one: re-exporting the whole of `zod/mini`
// (`export *`), or taking anything from its `core` namespace, makes the bundler keep all of zod, every
// language of its messages included (~670 KB instead of ~60).
export {
  _default,
  array,
  boolean,
  describe,
  enum,
  extend,
  int,
  lazy,
  maximum,
  maxLength,
  minimum,
  minLength,
  null,
  nullable,
  number,
  object,
  optional,
  parse,
  partialRecord,
  pipe,
  positive,
  record,
  refine,
  regex,
  safeParse,
  strictObject,
  string,
  toJSONSchema,
  transform,
  union,
  unknown,
} from 'zod/mini';
export type { infer } from 'zod/mini';

/** A string that matches `pattern`; `message` says what is expected when it does not. */
export const matching = (pattern: RegExp, message?: string) => string().check(regex(pattern, message));
/** Any zod 4 schema whose output is `T`, made with `zod` or with `zod/mini`. */
export type Schema<T = unknown> = $ZodType<T>;
/** Any zod 4 object schema. */
export type ObjectSchema = $ZodObject;
/** The fields of an object schema. */
export type Shape = $ZodShape;
