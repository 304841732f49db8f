import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { findFreePort } from '@portcullis/shared';

/**
 * A TCP proxy in front of nats-server that understands the client side of the NATS protocol well
 * enough to drop whole operations: with `dropAcks` on, every publish to `$JS.ACK.…` (ack, nak,
 * in-progress) from the client vanishes, as acks do when a connection dies at the wrong moment.
 * Everything else (publishes, KV writes, subscriptions, pings) passes unchanged.
 */
export class AckDroppingProxy {
  dropAcks = false;
  dropped = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(upstreamPort: number): Promise<AckDroppingProxy> {
    const port = await findFreePort();
    const ref: { proxy?: AckDroppingProxy } = {};
    const server = createServer((client) => ref.proxy?.accept(client, upstreamPort));
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    ref.proxy = new AckDroppingProxy(server, port);
    return ref.proxy;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  private accept(client: Socket, upstreamPort: number): void {
    const upstream = createConnection({ host: '127.0.0.1', port: upstreamPort });
    this.sockets.add(client).add(upstream);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    upstream.pipe(client);
    let pending = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const op = nextOp(pending);
        if (!op) break;
        const bytes = pending.subarray(0, op.length);
        pending = pending.subarray(op.length);
        if (this.dropAcks && op.subject?.startsWith('$JS.ACK.')) this.dropped++;
        else upstream.write(bytes);
      }
    });
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** The length of the first complete client operation in `buf` (and its subject for PUB/HPUB). */
function nextOp(buf: Buffer): { length: number; subject?: string } | undefined {
  const eol = buf.indexOf('\r\n');
  if (eol < 0) return undefined;
  const line = buf.subarray(0, eol).toString('latin1');
  const parts = line.split(/\s+/);
  const verb = (parts[0] ?? '').toUpperCase();
  let payload = -1;
  if (verb === 'PUB') payload = Number(parts[parts.length - 1]);
  else if (verb === 'HPUB') payload = Number(parts[parts.length - 1]);
  if (payload < 0) return { length: eol + 2 };
  const length = eol + 2 + payload + 2;
  if (buf.length < length) return undefined;
  return { length, ...(parts[1] !== undefined ? { subject: parts[1] } : {}) };
}
