/**
 * `runbook probe <host:port>…`: the handshake prober as a command — one real TLS handshake per protocol
 * version (with and without SNI for DNS names), the server's refusals told apart from the client's.
 */
import { ExitCode } from '../exit-codes.js';
import { UsageError, parse, type Command } from '../common.js';
import { green, yellow } from '../render.js';
import { NOT_TESTABLE, PROBED_PROTOCOLS, parseEndpoint, probeEndpoint, type ProbedProtocol, type ProtocolVerdict } from '../../tls/prober.js';

const usage = `Usage: runbook probe <host:port>… [--protocol <TLS 1.0|TLS 1.1|TLS 1.2|TLS 1.3>]… [--sni <name>] [--timeout-ms MS] [--json]

Offers each TLS version alone, at OpenSSL security level 0 (so that a refusal is the server's, not this
client's), and prints per endpoint and version: accepted (with the version and cipher), refused (the
server's alert, or its connection closed before ServerHello), or inconclusive (not reachable, no answer,
or a version this client could not offer). Exit 0 when every handshake was conclusive, 1 otherwise.
Not testable here: ${NOT_TESTABLE}.`;

export const probe: Command = {
  name: 'probe',
  usage,
  async run(args) {
    const { values, positionals } = parse(args, {
      protocol: { type: 'string', multiple: true },
      sni: { type: 'string' },
      'timeout-ms': { type: 'string' },
    });
    if (positionals.length === 0) throw new UsageError('probe needs at least one host:port');
    const protocols = (values.protocol ?? [...PROBED_PROTOCOLS]) as ProbedProtocol[];
    for (const p of protocols) if (!PROBED_PROTOCOLS.includes(p)) throw new UsageError(`--protocol takes one of ${PROBED_PROTOCOLS.join(', ')}, got "${p}"`);
    const timeoutMs = values['timeout-ms'] === undefined ? 5000 : Number(values['timeout-ms']);
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout-ms takes a positive whole number, got "${values['timeout-ms']}"`);
    const endpoints = positionals.map((p) => {
      try {
        return parseEndpoint(p, values.sni);
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
    });
    const verdicts: ProtocolVerdict[] = [];
    for (const e of endpoints) {
      const found = await probeEndpoint(e, protocols, { timeoutMs });
      verdicts.push(...found);
      if (!values.json) for (const v of found) process.stdout.write(line(v));
    }
    if (values.json) process.stdout.write(`${JSON.stringify({ verdicts, notTestable: NOT_TESTABLE })}\n`);
    else process.stdout.write(`not tested: ${NOT_TESTABLE}\n`);
    return verdicts.some((v) => v.outcome === 'inconclusive') ? ExitCode.failed : ExitCode.ok;
  },
};

function line(v: ProtocolVerdict): string {
  const outcome = v.outcome === 'refused' ? green(v.outcome.padEnd(12)) : v.outcome === 'inconclusive' ? yellow(v.outcome.padEnd(12)) : v.outcome.padEnd(12);
  return `${v.address.padEnd(28)} ${v.protocol.padEnd(8)} ${outcome} ${v.evidence}\n`;
}
