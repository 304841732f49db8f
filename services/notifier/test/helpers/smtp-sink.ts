import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { findFreePort } from '@portcullis/shared';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  parsed: ParsedMail;
  secure: boolean;
  user: string | undefined;
}

export interface SinkOptions {
  /** PEM key and certificate: STARTTLS is offered only when given. */
  tls?: { key: string; cert: string };
  /** Required credentials: AUTH is offered (and required) only when given. */
  auth?: { user: string; pass: string };
}

/**
 * A real SMTP server (the smtp-server package) on a free loopback port. Every accepted message
 * is parsed with mailparser and kept, with its envelope. It can be stopped and started again on
 * the same port, told to answer 451 to every message, or given a hook that runs before a message
 * is accepted (to kill a client mid-delivery).
 */
export class SmtpSink {
  readonly mails: ReceivedMail[] = [];
  /** Messages answered 451 (temporary failure). */
  refused = 0;
  mode: 'accept' | 'tempfail' = 'accept';
  beforeAccept: ((raw: string) => Promise<void>) | undefined;
  private server: SMTPServer | undefined;

  private constructor(
    readonly port: number,
    private readonly opts: SinkOptions,
  ) {}

  static async start(opts: SinkOptions = {}): Promise<SmtpSink> {
    const sink = new SmtpSink(await findFreePort(), opts);
    await sink.listen();
    return sink;
  }

  private options(): SMTPServerOptions {
    const disabled = [...(this.opts.tls ? [] : ['STARTTLS']), ...(this.opts.auth ? [] : ['AUTH'])];
    return {
      secure: false,
      logger: false,
      disabledCommands: disabled,
      authOptional: !this.opts.auth,
      allowInsecureAuth: false,
      ...(this.opts.tls ? { key: this.opts.tls.key, cert: this.opts.tls.cert } : {}),
      onAuth: (auth, _session, cb) => {
        const want = this.opts.auth;
        if (want && auth.username === want.user && auth.password === want.pass) cb(null, { user: auth.username });
        else cb(new Error('Invalid username or password'));
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          void this.receive(Buffer.concat(chunks), session).then(
            () => cb(null),
            (e: Error & { responseCode?: number }) => cb(e),
          );
        });
      },
    };
  }

  private async receive(raw: Buffer, session: SMTPServerSession): Promise<void> {
    if (this.mode === 'tempfail') {
      this.refused++;
      throw Object.assign(new Error('try again later'), { responseCode: 451 });
    }
    const text = raw.toString('utf8');
    if (this.beforeAccept) await this.beforeAccept(text);
    const parsed = await simpleParser(raw);
    this.mails.push({
      from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      to: session.envelope.rcptTo.map((r) => r.address),
      raw: text,
      parsed,
      secure: session.secure,
      user: typeof session.user === 'string' ? session.user : undefined,
    });
  }

  private listen(): Promise<void> {
    const server = new SMTPServer(this.options());
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        server.on('error', () => undefined);
        resolve();
      });
    });
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  /** Closes the port: connections are refused until start(). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  async restart(): Promise<void> {
    if (!this.server) await this.listen();
  }

  /** Waits until `predicate(mails)` holds, or throws with what arrived. */
  async waitFor(predicate: (mails: ReceivedMail[]) => boolean, timeoutMs = 20_000, what = 'mails'): Promise<ReceivedMail[]> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (predicate(this.mails)) return this.mails;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}; got ${this.mails.length}: ${this.mails.map((m) => m.parsed.subject).join(' | ')}`);
  }
}

export function textOf(mail: ReceivedMail): string {
  return mail.parsed.text ?? '';
}

/** A header line as sent (raw), for checks that must not rely on the parser's interpretation. */
export function rawHeaderBlock(mail: ReceivedMail): string {
  const end = mail.raw.indexOf('\r\n\r\n');
  return end >= 0 ? mail.raw.slice(0, end) : mail.raw;
}
