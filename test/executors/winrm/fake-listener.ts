/**
 * A small misbehaving WinRM listener for the transport's and executor's error paths: NTLM (the
 * project's acceptor) and sealed bodies over HTTP on 127.0.0.1, and a test-given answer to each
 * request once authenticated. The simulated host's listener (src/simulator/winrm-listener.ts) is the
 * faithful one; this one says what a test needs it to say, and needs no PowerShell.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { NtlmAcceptor, type NtlmSession } from '../../../src/executors/winrm/ntlm.js';
import { decryptBody, encryptBody, isEncryptedContentType } from '../../../src/executors/winrm/http-encryption.js';

export const FAKE_USER = 'rbe-admin';
export const FAKE_PASSWORD = 'Fake-Pa55word!';

/** What the listener answers to one authenticated request: a status and a SOAP body, or a bare 401. */
export type FakeAnswer = { status: number; xml: string } | { status: 401 };

export interface FakeListener {
  port: number;
  /** Logons the listener accepted. */
  logons: number;
  /** The user and domain of each logon accepted, as the client sent them. */
  accounts: { user: string; domain: string }[];
  /** The largest request body received, in bytes (sealed, as it came over HTTP). */
  largestRequest: number;
  close(): Promise<void>;
}

/** An answer envelope around `body`. */
export function soap(body: string): string {
  return `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header/><s:Body>${body}</s:Body></s:Envelope>`;
}

/** A WS-Management fault with its WSManFault code. */
export function fault(code: number, subcode: string, message: string): string {
  return soap(`<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:${subcode}</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">${message}</s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="${code}" Machine="win"><f:Message>${message}</f:Message></f:WSManFault></s:Detail></s:Fault>`);
}

/** The usual answers of a shell whose command's output `receive` gives, by the request's action. */
export function shellAnswers(receive: () => FakeAnswer): (action: string) => FakeAnswer {
  return (action) => {
    if (action.endsWith('/Create')) return { status: 200, xml: soap('<rsp:Shell><rsp:ShellId>SHELL-1</rsp:ShellId></rsp:Shell>') };
    if (action.endsWith('/Command')) return { status: 200, xml: soap('<rsp:CommandResponse><rsp:CommandId>CMD-1</rsp:CommandId></rsp:CommandResponse>') };
    if (action.endsWith('/Receive')) return receive();
    return { status: 200, xml: soap('') };
  };
}

/** A Receive's answer: streams, and the command done with its exit code when `exitCode` is given. */
export function receiveAnswer(streams: { stdout?: string; stderr?: string }, exitCode?: number): FakeAnswer {
  const stream = (name: string, text?: string) => (text ? `<rsp:Stream Name="${name}" CommandId="CMD-1">${Buffer.from(text, 'utf8').toString('base64')}</rsp:Stream>` : '');
  const state = exitCode === undefined
    ? '<rsp:CommandState CommandId="CMD-1" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"/>'
    : `<rsp:CommandState CommandId="CMD-1" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"><rsp:ExitCode>${exitCode}</rsp:ExitCode></rsp:CommandState>`;
  return { status: 200, xml: soap(`<rsp:ReceiveResponse>${stream('stdout', streams.stdout)}${stream('stderr', streams.stderr)}${state}</rsp:ReceiveResponse>`) };
}

/**
 * Serves until `close()`; `answer` is given each authenticated request's `wsa:Action` and its whole
 * envelope, and may answer later (a promise: a listener that holds a request).
 */
export async function fakeListener(answer: (action: string, xml: string) => FakeAnswer | Promise<FakeAnswer>): Promise<FakeListener> {
  const sessions = new WeakMap<Socket, { acceptor?: NtlmAcceptor; session?: NtlmSession }>();
  const sockets = new Set<Socket>();
  const state = { logons: 0, largestRequest: 0 };
  const accounts: { user: string; domain: string }[] = [];
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    state.largestRequest = Math.max(state.largestRequest, body.length);
    const conn = sessions.get(req.socket) ?? {};
    sessions.set(req.socket, conn);
    const refuse = () => {
      res.writeHead(401, { 'WWW-Authenticate': 'Negotiate', 'Content-Length': '0' });
      res.end();
    };
    const token = /^Negotiate\s+(\S+)/i.exec(req.headers.authorization ?? '')?.[1];
    if (token) {
      const message = Buffer.from(token, 'base64');
      if (message.readUInt32LE(8) === 1) {
        // The account by its name alone, or as a UPN (name@domain).
        conn.acceptor = new NtlmAcceptor({ lookup: (user) => (user.toLowerCase().replace(/@.*$/, '') === FAKE_USER ? FAKE_PASSWORD : null), targetName: 'WIN' });
        res.writeHead(401, { 'WWW-Authenticate': `Negotiate ${conn.acceptor.challenge(message).toString('base64')}`, 'Content-Length': '0' });
        return res.end();
      }
      try {
        accounts.push(conn.acceptor!.accept(message));
        conn.session = conn.acceptor!.session;
        state.logons += 1;
      } catch {
        return refuse();
      }
      if (body.length === 0) {
        res.writeHead(200, { 'Content-Length': '0' });
        return res.end();
      }
    }
    if (!conn.session || !isEncryptedContentType(req.headers['content-type'])) return refuse();
    const xml = decryptBody(conn.session, body, String(req.headers['content-type'])).toString('utf8');
    const action = /<(?:\w+:)?Action[^>]*>([^<]+)</.exec(xml)?.[1] ?? '';
    const reply = await answer(action, xml);
    if (res.destroyed) return;
    if (!('xml' in reply)) {
      // As Windows does for an account it will not serve: 401, the connection's context forgotten.
      conn.session = undefined;
      return refuse();
    }
    const sealed = encryptBody(conn.session, Buffer.from(reply.xml, 'utf8'), 'application/soap+xml;charset=UTF-8');
    res.writeHead(reply.status, { 'Content-Type': sealed.contentType, 'Content-Length': String(sealed.body.length) });
    res.end(sealed.body);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get logons() {
      return state.logons;
    },
    accounts,
    get largestRequest() {
      return state.largestRequest;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
