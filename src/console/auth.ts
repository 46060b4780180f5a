/**
 * Who may use the console: the holder of the token printed when it starts (as Jupyter does). The token
 * in the address is exchanged for a session cookie (HttpOnly, SameSite=Strict, Secure over TLS) and the
 * page is sent on without it, so it does not stay in the address bar or the history. Scripts may send
 * it as `Authorization: Bearer <token>` instead. Each session has its own CSRF token, which every POST
 * carries in a header, and a POST whose Origin is not this server's is refused.
 */
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type Session = { id: string; csrf: string; created: string; address: string; userAgent: string };


const same = (a: string, b: string) => {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
};

export class ConsoleAuth {
  readonly token: string;
  private readonly sessions = new Map<string, Session>();

  /** The cookie's name: one per port, since cookies do not tell ports apart (two consoles on one machine). */
  private cookieName = 'runbook_console';

  constructor(token?: string) {
    this.token = token ?? randomBytes(24).toString('base64url');
  }

  /** Names the session cookie after the port the console listens on. */
  setPort(port: number): void {
    this.cookieName = `runbook_console_${port}`;
  }

  /** True when `candidate` is the console's token. */
  isToken(candidate: string | null | undefined): boolean {
    return typeof candidate === 'string' && candidate.length > 0 && same(candidate, this.token);
  }

  /** A new session for the holder of the token; its cookie header. */
  open(req: IncomingMessage, secure: boolean): { session: Session; cookie: string } {
    const session: Session = {
      id: randomBytes(24).toString('base64url'),
      csrf: randomBytes(24).toString('base64url'),
      created: new Date().toISOString(),
      address: req.socket.remoteAddress ?? '?',
      userAgent: String(req.headers['user-agent'] ?? '').slice(0, 200),
    };
    this.sessions.set(session.id, session);
    return { session, cookie: `${this.cookieName}=${session.id}; HttpOnly; SameSite=Strict; Path=/${secure ? '; Secure' : ''}` };
  }

  /** The request's session (by cookie), or a token session (by bearer token), or null. */
  sessionOf(req: IncomingMessage): Session | null {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ') && this.isToken(auth.slice(7))) {
      return { id: 'bearer', csrf: '', created: '', address: req.socket.remoteAddress ?? '?', userAgent: String(req.headers['user-agent'] ?? '').slice(0, 200) };
    }
    const cookie = req.headers.cookie ?? '';
    for (const part of cookie.split(';')) {
      const [name, value] = part.trim().split('=');
      if (name === this.cookieName && value) {
        const s = this.sessions.get(value);
        if (s) return s;
      }
    }
    return null;
  }

  /**
   * Why a state-changing request is refused, or null: the Origin must be this server's own (a
   * cross-site form or fetch is refused whatever cookie it carries), and a cookie session must send
   * its CSRF token in `X-CSRF-Token` (a bearer token needs none: no browser sends one on its own).
   */
  refuseWrite(req: IncomingMessage, session: Session, ownOrigin: string): string | null {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== ownOrigin) return `cross-site request refused (Origin ${origin})`;
    if (session.id === 'bearer') return null;
    if (origin === undefined) return 'a request without Origin is refused';
    const csrf = req.headers['x-csrf-token'];
    if (typeof csrf !== 'string' || !same(csrf, session.csrf)) return 'missing or wrong CSRF token';
    return null;
  }
}
