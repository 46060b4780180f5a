/** Windows facts: the WinRM service as a client meets it. Each states its Microsoft source; see `types.ts` for the shape. */
import { defineFact, type WindowsFact } from './types.js';

const WSMV_CONFIG = {
  title: '[MS-WSMV] 2.2.4.10 ConfigType',
  url: 'https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/932240de-3943-4ed3-a162-8b3c4de5a286',
};

/**
 * The largest SOAP envelope (KB) every Windows WinRM service accepts as installed. The service's
 * default `MaxEnvelopeSizekb` is 500 KB, or 150 KB on some versions; it limits the client's requests
 * as well as the answers, so the client keeps each envelope (a chunk of standard input) under the
 * smaller one unless told the server's own setting.
 */
export const winrmEnvelopeFloorKb = defineFact({
  id: 'winrm.max-envelope-size-default',
  topic: 'WinRM',
  statement:
    "A WinRM service's default MaxEnvelopeSizekb is 500 KB but may be 150 KB, and it also limits the client's requests: an envelope of at most 150 KB fits every default",
  value: 150,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    { ...WSMV_CONFIG, quote: 'The default value SHOULD be 500 but MAY be 150.' },
    {
      ...WSMV_CONFIG,
      quote: 'This configuration setting is also used to limit the size of client request packets that are processed, as specified in section 3.1.4.1.20.',
    },
  ],
});

/** Every WinRM fact, in the order of `docs/windows-facts.md`. */
export const WINRM_FACTS: readonly WindowsFact[] = [winrmEnvelopeFloorKb];
