/**
 * A scripted Windows Remote Shell behind the fake listener, for the executor's paths that need a
 * server to misbehave at a precise point (a shell deleted while idle, a Receive that times out, a 401
 * in the middle of a session, a listener that stops answering): shells and commands with ids, the
 * agent's stdin decoded (its first line the program, then one request a line), and each request
 * answered with the agent's framing. No PowerShell: the real agent runs in winrm.test.ts.
 */
import { fault, soap, type FakeAnswer } from './fake-listener.js';

const SHELL_URI = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell';

/** The fault Windows answers a request for a shell it does not have (`winrm.shell-not-found-fault`). */
export function shellNotFound(shellId: string): FakeAnswer {
  return {
    status: 500,
    xml: fault(2150858843, 'InvalidSelectors', `The request for the Windows Remote Shell with ShellId ${shellId} failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. Provide the correct ShellId or create a new shell and retry the operation.`),
  };
}

/** The fault of a Receive whose OperationTimeout passed with no output (`winrm.receive-timeout-fault-code`). */
export const RECEIVE_TIMED_OUT: FakeAnswer = {
  status: 500,
  xml: fault(2150858793, 'TimedOut', 'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.'),
};

interface Command {
  id: string;
  /** Input not yet read as whole lines (bytes: a chunk may end inside a character). */
  stdin: Buffer;
  /** Output not yet received. */
  out: string;
  programRead: boolean;
  /** Its stdin was closed: it ends once its output is taken. */
  ended: boolean;
}

/** What a test may change between requests. */
export interface FakeWinrs {
  /** Every request's action, in order (`Create`, `Command`, `Send`, `Receive`, `Signal`, `Delete`). */
  log: string[];
  /** The shells alive on the server. */
  shells: Map<string, Map<string, Command>>;
  /** Shells made so far. */
  created: number;
  /** Requests (batches) the agent received, in order. */
  requests: unknown[];
  /** Called before each request is answered; an answer returned replaces the server's own. */
  intercept: (action: string, xml: string) => FakeAnswer | Promise<FakeAnswer> | undefined;
  /** The answer the server gives each op of a batch. @default `{ op }` */
  result: (op: { op: string }) => unknown;
  /** Size of the output each Receive carries at most (bytes of stdout), to force many Receives. @default all */
  receiveBytes: number;
  /** Answers one request: the listener's `answer`. */
  answer(action: string, xml: string): Promise<FakeAnswer>;
}

const tag = (xml: string, name: string) => new RegExp(`<(?:\\w+:)?${name}\\b[^>]*>([\\s\\S]*?)</(?:\\w+:)?${name}>`).exec(xml)?.[1];
const attr = (xml: string, element: string, name: string) => new RegExp(`<(?:\\w+:)?${element}\\b[^>]*\\b${name}="([^"]*)"`).exec(xml)?.[1];

/**
 * A fresh scripted WinRS.
 *
 * @example
 * ```ts
 * const winrs = fakeWinrs();
 * const listener = await fakeListener((action, xml) => winrs.answer(action, xml));
 * ```
 */
export function fakeWinrs(): FakeWinrs {
  let ids = 0;
  const winrs: FakeWinrs = {
    log: [],
    shells: new Map(),
    created: 0,
    requests: [],
    intercept: () => undefined,
    result: (op) => ({ op: op.op }),
    receiveBytes: Infinity,
    async answer(action, xml) {
      const verb = action.slice(action.lastIndexOf('/') + 1);
      winrs.log.push(verb);
      const replaced = await winrs.intercept(verb, xml);
      if (replaced) return replaced;
      if (verb === 'Create') {
        const id = `SHELL-${++ids}`;
        winrs.shells.set(id, new Map());
        winrs.created += 1;
        return { status: 200, xml: soap(`<rsp:Shell><rsp:ShellId>${id}</rsp:ShellId></rsp:Shell>`) };
      }
      const shellId = /<(?:\w+:)?Selector Name="ShellId">([^<]+)</.exec(xml)?.[1] ?? '';
      const shell = winrs.shells.get(shellId);
      if (!shell) return shellNotFound(shellId);
      if (verb === 'Delete') {
        winrs.shells.delete(shellId);
        return { status: 200, xml: soap('') };
      }
      if (verb === 'Command') {
        const id = `CMD-${++ids}`;
        shell.set(id, { id, stdin: Buffer.alloc(0), out: '', programRead: false, ended: false });
        return { status: 200, xml: soap(`<rsp:CommandResponse><rsp:CommandId>${id}</rsp:CommandId></rsp:CommandResponse>`) };
      }
      const commandId = attr(xml, 'Stream', 'CommandId') ?? attr(xml, 'DesiredStream', 'CommandId') ?? attr(xml, 'Signal', 'CommandId') ?? '';
      const cmd = shell.get(commandId);
      if (!cmd) return { status: 500, xml: fault(87, 'InvalidParameter', `no command ${commandId}`) };
      if (verb === 'Signal') {
        shell.delete(commandId);
        return { status: 200, xml: soap('<rsp:SignalResponse/>') };
      }
      if (verb === 'Send') {
        cmd.stdin = Buffer.concat([cmd.stdin, Buffer.from(tag(xml, 'Stream') ?? '', 'base64')]);
        for (let nl = cmd.stdin.indexOf(0x0a); nl >= 0; nl = cmd.stdin.indexOf(0x0a)) {
          const line = cmd.stdin.subarray(0, nl).toString('utf8');
          cmd.stdin = cmd.stdin.subarray(nl + 1);
          if (!cmd.programRead) {
            cmd.programRead = true;
            continue;
          }
          const request = JSON.parse(line) as { marker: string; ops: { op: string }[] };
          winrs.requests.push(request.ops);
          cmd.out += `RBE-BEGIN ${request.marker}\n${JSON.stringify({ ok: true, results: request.ops.map((op) => winrs.result(op)) })}\nRBE-END ${request.marker}\n`;
        }
        if (attr(xml, 'Stream', 'End') === 'true') cmd.ended = true;
        return { status: 200, xml: soap('<rsp:SendResponse/>') };
      }
      if (verb === 'Receive') {
        if (!cmd.out && cmd.ended) {
          shell.delete(cmd.id);
          return { status: 200, xml: soap(`<rsp:ReceiveResponse><rsp:CommandState CommandId="${cmd.id}" State="${SHELL_URI}/CommandState/Done"><rsp:ExitCode>0</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse>`) };
        }
        if (!cmd.out) return RECEIVE_TIMED_OUT;
        const part = cmd.out.slice(0, winrs.receiveBytes);
        cmd.out = cmd.out.slice(part.length);
        const stream = `<rsp:Stream Name="stdout" CommandId="${cmd.id}">${Buffer.from(part, 'utf8').toString('base64')}</rsp:Stream>`;
        return { status: 200, xml: soap(`<rsp:ReceiveResponse>${stream}<rsp:CommandState CommandId="${cmd.id}" State="${SHELL_URI}/CommandState/Running"/></rsp:ReceiveResponse>`) };
      }
      return { status: 500, xml: fault(2150858753, 'ActionNotSupported', action) };
    },
  };
  return winrs;
}
