import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { findFreePort } from '@portcullis/shared';

export interface HttpRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/**
 * A local HTTP server that records every POST and answers with the status the test chose for
 * that path: a list of statuses is used up one request at a time, the last one sticks.
 */
export class HttpSink {
  readonly requests: HttpRequest[] = [];
  private readonly plans = new Map<string, number[]>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<HttpSink> {
    const port = await findFreePort();
    const ref: { sink?: HttpSink } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        const status = ref.sink?.next(path) ?? 200;
        ref.sink?.requests.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'failing on purpose');
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    ref.sink = new HttpSink(server, port);
    return ref.sink;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  plan(path: string, statuses: number[]): void {
    this.plans.set(path, [...statuses]);
  }

  private next(path: string): number {
    const plan = this.plans.get(path);
    if (!plan || plan.length === 0) return 200;
    return plan.length > 1 ? (plan.shift() as number) : (plan[0] as number);
  }

  on(path: string): HttpRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  async waitFor(pred: (s: HttpSink) => boolean, timeoutMs = 15_000, what = 'requests'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${this.requests.map((r) => `${r.path} ${r.status}`).join(', ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
