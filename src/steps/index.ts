/**
 * The bundled step kinds.
 */
import { StepKindRegistry } from '../engine/kinds.js';
import { backupStep } from './backup.js';
import { dotnetStep } from './dotnet.js';
import { hotfixStep } from './hotfix.js';
import { ipVerifyStep } from './ip-verify.js';
import { preflightStep } from './preflight.js';
import { restartStep } from './restart.js';
import { schannelStep } from './schannel.js';
import { tlsHandshakesStep } from './tls-handshakes.js';
import { winhttpTlsStep } from './winhttp-tls.js';

export { backupStep, dotnetStep, hotfixStep, ipVerifyStep, preflightStep, restartStep, schannelStep, tlsHandshakesStep, winhttpTlsStep };

/**
 * A registry holding every bundled step kind.
 *
 * @example
 * ```ts
 * const runner = new Runner({ kinds: bundledStepKinds() });
 * ```
 */
export function bundledStepKinds(): StepKindRegistry {
  return new StepKindRegistry().register(preflightStep, backupStep, schannelStep, dotnetStep, hotfixStep, restartStep, ipVerifyStep, tlsHandshakesStep, winhttpTlsStep);
}
