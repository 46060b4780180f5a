/**
 * What to check when Windows will not serve an account over WinRM although it may know its password:
 * one text for every place that meets it (HTTP 401 at or after the logon, an AccessDenied fault).
 * Said as possibilities, each backed by a fact where Microsoft states it: the server does not tell
 * which applies.
 */
import { UAC_REMOTE_RESTRICTIONS, WINRM_REMOTE_ACCESS_GROUPS } from '../../windows/facts/winrm-service.js';

const [ADMINISTRATORS, REMOTE_GROUP] = WINRM_REMOTE_ACCESS_GROUPS.value;

/**
 * The causes, other than a wrong password, for which Windows refuses an account WinRM.
 *
 * @example
 * ```ts
 * `the WinRM server denied the shell creation → ${WINRM_ACCOUNT_ADVICE}`;
 * ```
 */
export const WINRM_ACCOUNT_ADVICE =
  `Windows also refuses an account it will not serve over WinRM: one in neither ${ADMINISTRATORS} nor ${REMOTE_GROUP} (Remote Management Users on later Windows) on the target (${WINRM_REMOTE_ACCESS_GROUPS.id}); ` +
  `a local account in ${ADMINISTRATORS} other than the built-in Administrator while UAC's remote restrictions apply (LocalAccountTokenFilterPolicy 0 or absent: ${UAC_REMOTE_RESTRICTIONS.id}) — use a domain account in ${ADMINISTRATORS} or the built-in Administrator, or lift them knowingly; ` +
  'an account that is locked out, disabled or whose password expired; or a policy that restricts NTLM on the target or its domain';
