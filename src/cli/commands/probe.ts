/**
 * `runbook probe <host:port>…`: the handshake prober as a command — one real TLS handshake per protocol
 * version (with and without SNI for DNS names), the server's refusals told apart from the client's.
 */
import { ExitCode } from '../exit-codes.js';
import { Option } from 'commander';
import { UsageError, act, commandNamed, commonOptions, repeated, wholeNumber, type RunbookCommand } from '../args.js';
import { green, yellow } from '../render.js';
import { NOT_TESTABLE, PROBED_PROTOCOLS, parseEndpoint, probeEndpoint, type ProbedProtocol, type ProtocolVerdict } from '../../tls/prober.js';

interface ProbeOptions {
  protocol?: ProbedProtocol[];
  sni?: string;
  timeoutMs?: number;
  json?: boolean;
}

/**
 * `runbook probe <host:port>…`: one real TLS handshake per protocol version against each endpoint.
 *
 * @example
 * ```ts
 * probe.declare().helpInformation(); // 'Usage: runbook probe [options] <endpoints...>…'
 * ```
 */
export const probe: RunbookCommand = {
  name: 'probe',
  declare: () =>
    act(
      commandNamed('probe')
        .description(
          [
            "Offers each TLS version alone, at OpenSSL security level 0 (so that a refusal is the server's, not this",
            "client's), and prints per endpoint and version: accepted (with the version and cipher), refused (the",
            "server's alert, or its connection closed before ServerHello), or inconclusive (not reachable, no answer,",
            'or a version this client could not offer). Exit 0 when every handshake was conclusive, 1 otherwise.',
            `Not testable here: ${NOT_TESTABLE}.`,
          ].join(' '),
        )
        .argument('<host:port...>', 'the endpoints to probe')
        .addOption(new Option('--protocol <version>', 'a TLS version to offer; repeat for more (default: every one)').choices(PROBED_PROTOCOLS).argParser(repeated(PROBED_PROTOCOLS)))
        .option('--sni <name>', 'the server name to send (default: the host, when it is a DNS name)')
        .addOption(new Option('--timeout-ms <MS>', 'how long one handshake may take (default 5000)').argParser(wholeNumber(1)))
        .addOption(commonOptions.json('one JSON document: every verdict')),
      async (values: ProbeOptions, operands) => {
        const protocols = values.protocol ?? [...PROBED_PROTOCOLS];
        const timeoutMs = values.timeoutMs ?? 5000;
        const endpoints = operands.map((p) => {
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
    ),
};

function line(v: ProtocolVerdict): string {
  const outcome = v.outcome === 'refused' ? green(v.outcome.padEnd(12)) : v.outcome === 'inconclusive' ? yellow(v.outcome.padEnd(12)) : v.outcome.padEnd(12);
  return `${v.address.padEnd(28)} ${v.protocol.padEnd(8)} ${outcome} ${v.evidence}\n`;
}
