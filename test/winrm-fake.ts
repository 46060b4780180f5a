/**
 * A small WinRS server for the winrm executor's own tests (Basic authentication, HTTP or HTTPS): it
 * answers Create, Command, Send, Receive, Signal and Delete as MS-WSMV describes them and runs the
 * command it is given — `powershell.exe` is the tests' PowerShell — with the simulated-host file as the
 * agent's backend. It also plays the failures a client must tell apart: refused credentials, a shell
 * gone after a restart, an envelope over the limit. (The simulated host's own listener, with NTLM and
 * message encryption, is proven against pywinrm; this one keeps the client's error paths quick.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { tempDir } from './helpers.js';

export interface FakeWinrm {
  port: number;
  url: string;
  /** PEM of the HTTPS certificate (self-signed for 127.0.0.1 and localhost). */
  certPem: string;
  /** Its SHA-256 fingerprint as Node prints it. */
  fingerprint: string;
  /** Envelopes received, by action's last word (`Create`, `Send`, …), for the tests to count. */
  seen: string[];
  /** The largest request body received, in bytes. */
  largest: number;
  /** Running commands' processes. */
  pids(): number[];
  /** Drops every shell and command, as a restarted service does (the listener stays). */
  forgetShells(): void;
  stop(): Promise<void>;
  start(): Promise<void>;
}

interface Command {
  child: ChildProcess;
  out: { name: 'stdout' | 'stderr'; data: Buffer }[];
  exit: number | null;
  wake: (() => void) | null;
}

let certificate: { key: string; cert: string } | undefined;
async function selfSigned(): Promise<{ key: string; cert: string }> {
  if (certificate) return certificate;
  const dir = await tempDir('rbe-winrm-cert-');
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  return (certificate = { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') });
}

const fault = (code: number, subcode: string, message: string) =>
  `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:${subcode}</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">${message}</s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="${code}" Machine="127.0.0.1"><f:Message>${message}</f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>`;
const ok = (body: string) =>
  `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header/><s:Body>${body}</s:Body></s:Envelope>`;
const pick = (xml: string, re: RegExp) => re.exec(xml)?.[1] ?? '';

/**
 * Starts the fake listener on 127.0.0.1.
 *
 * @param options.pwsh the PowerShell that stands for `powershell.exe`
 * @param options.env the commands' environment (RUNBOOK_AGENT_HOST_FILE)
 */
export async function startFakeWinrm(options: { pwsh: string; env: Record<string, string>; user: string; password: string; https?: boolean; maxEnvelopeKb?: number }): Promise<FakeWinrm> {
  const identity = await selfSigned();
  const shells = new Map<string, Map<string, Command>>();
  const seen: string[] = [];
  let largest = 0;
  const expected = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`;

  const handle = async (xml: string): Promise<[number, string]> => {
    const action = pick(xml, /<wsa:Action[^>]*>([^<]+)</).split('/').pop()!;
    seen.push(action);
    if (Buffer.byteLength(xml) > (options.maxEnvelopeKb ?? 500) * 1024) {
      return [500, fault(2150858817, 'EncodingLimit', 'The WS-Management service cannot process the request because the envelope size in the request is too large.')];
    }
    if (action === 'Create') {
      const id = randomUUID().toUpperCase();
      shells.set(id, new Map());
      return [200, ok(`<rsp:Shell><rsp:ShellId>${id}</rsp:ShellId></rsp:Shell>`)];
    }
    const shellId = pick(xml, /<w:Selector Name="ShellId">([^<]+)</);
    const shell = shells.get(shellId);
    if (!shell) return [500, fault(2150858843, 'InvalidSelectors', `The request for the Windows Remote Shell with ShellId ${shellId} failed because the shell was not found on the server.`)];
    if (action === 'Delete') {
      for (const c of shell.values()) c.child.kill('SIGKILL');
      shells.delete(shellId);
      return [200, ok('')];
    }
    if (action === 'Command') {
      const command = pick(xml, /<rsp:Command>([^<]*)</);
      const args = [...xml.matchAll(/<rsp:Arguments>([^<]*)</g)].map((m) => m[1]);
      const id = randomUUID().toUpperCase();
      const child = spawn(command === 'powershell.exe' ? options.pwsh : command, args, { env: { ...process.env, ...options.env }, stdio: 'pipe' });
      const c: Command = { child, out: [], exit: null, wake: null };
      const push = (name: 'stdout' | 'stderr') => (data: Buffer) => {
        c.out.push({ name, data });
        c.wake?.();
      };
      child.stdout!.on('data', push('stdout'));
      child.stderr!.on('data', push('stderr'));
      child.stdin!.on('error', () => undefined);
      child.on('close', (code) => {
        c.exit = code ?? 1;
        c.wake?.();
      });
      shell.set(id, c);
      return [200, ok(`<rsp:CommandResponse><rsp:CommandId>${id}</rsp:CommandId></rsp:CommandResponse>`)];
    }
    const commandId = pick(xml, /CommandId="([^"]+)"/);
    const c = shell.get(commandId);
    if (!c) return [500, fault(2150858843, 'InvalidSelectors', 'The command was not found.')];
    if (action === 'Send') {
      const data = Buffer.from(pick(xml, /<rsp:Stream[^>]*>([^<]*)</), 'base64');
      if (data.length) c.child.stdin!.write(data);
      if (/End="true"/.test(xml)) c.child.stdin!.end();
      return [200, ok('<rsp:SendResponse/>')];
    }
    if (action === 'Signal') {
      c.child.kill('SIGKILL');
      return [200, ok('<rsp:SignalResponse/>')];
    }
    if (action === 'Receive') {
      if (c.out.length === 0 && c.exit === null) {
        const seconds = Number(pick(xml, /<w:OperationTimeout>PT([\d.]+)S</) || '20');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(seconds, 2) * 1000);
          c.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        c.wake = null;
        if (c.out.length === 0 && c.exit === null) return [500, fault(2150858793, 'TimedOut', 'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.')];
      }
      const streams = c.out.splice(0).map((o) => `<rsp:Stream Name="${o.name}" CommandId="${commandId}">${o.data.toString('base64')}</rsp:Stream>`);
      const state = c.exit !== null && c.out.length === 0
        ? `<rsp:CommandState CommandId="${commandId}" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"><rsp:ExitCode>${c.exit}</rsp:ExitCode></rsp:CommandState>`
        : `<rsp:CommandState CommandId="${commandId}" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"/>`;
      return [200, ok(`<rsp:ReceiveResponse>${streams.join('')}${state}</rsp:ReceiveResponse>`)];
    }
    return [500, fault(2150858770, 'ActionNotSupported', `unknown action ${action}`)];
  };

  const listener: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      largest = Math.max(largest, body.length);
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'WWW-Authenticate': ['Negotiate', 'Basic realm="WSMAN"'] }).end();
        return;
      }
      void handle(body.toString('utf8')).then(([status, xml]) => {
        res.writeHead(status, { 'Content-Type': 'application/soap+xml;charset=UTF-8' }).end(xml);
      });
    });
  };
  const server = options.https ? https.createServer({ key: identity.key, cert: identity.cert }, listener) : http.createServer(listener);
  const { freePort } = await import('./sshd.js');
  const port = await freePort();
  const forgetShells = () => {
    for (const shell of shells.values()) for (const c of shell.values()) c.child.kill('SIGKILL');
    shells.clear();
  };
  const start = () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  await start();
  const { X509Certificate } = await import('node:crypto');
  return {
    port,
    url: `${options.https ? 'https' : 'http'}://127.0.0.1:${port}/wsman`,
    certPem: identity.cert,
    fingerprint: new X509Certificate(identity.cert).fingerprint256,
    seen,
    get largest() {
      return largest;
    },
    pids: () => [...shells.values()].flatMap((s) => [...s.values()]).filter((c) => c.exit === null && c.child.pid).map((c) => c.child.pid!),
    forgetShells,
    start,
    stop: () =>
      new Promise<void>((resolve) => {
        forgetShells();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
