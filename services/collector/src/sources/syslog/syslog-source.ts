import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIP, type Server, type Socket } from 'node:net';
import { describeError, PortcullisError, RejectCounter, systemClock, type Clock, type Logger } from '@portcullis/shared';
import type { ChunkSink, LogSource } from '../source.js';
import { ChunkQueue } from './chunk-queue.js';
import { formatClassicLine, formatRfc3339Ms } from './classic-line.js';
import { parseSyslog } from './parse.js';
import { SyslogRouter, type SyslogRoute } from './routes.js';
import { TcpFramer, trimTerminators } from './tcp-framer.js';
import { cutUtf8, decodeUtf8 } from './utf8.js';

export interface SyslogListen {
  protocol: 'udp' | 'tcp';
  /** Address to bind, e.g. 127.0.0.1, 0.0.0.0 or ::. */
  host: string;
  /** 0 picks a free port (see addresses()). */
  port: number;
}

export interface SyslogSourceOptions {
  listen: SyslogListen[];
  routes: SyslogRoute[];
  log: Logger;
  clock?: Clock;
  /** Longer messages are cut to this many bytes (on a character boundary). Default 8192, at most 65536. */
  maxMessageBytes?: number;
  /** Default 1000. */
  batchMaxLines?: number;
  /** How long a partial batch waits for more lines. Default 5 ms. */
  batchMaxDelayMs?: number;
  /** TCP sockets are paused from this many waiting lines (and while the sink fails). Default 10,000. */
  tcpPauseLines?: number;
  /** UDP datagrams are dropped (and counted) beyond this many waiting lines. Default 50,000. */
  maxQueuedLines?: number;
  /** Default 1024 TCP connections per listener. */
  maxTcpConnections?: number;
  /** How long stop() keeps trying to deliver what was received. Default 5000 ms. */
  stopTimeoutMs?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
}

export interface SyslogStats {
  /** Messages framed (before parsing). */
  received: number;
  /** Routed to at least one jail and queued for the bus. */
  accepted: number;
  /** Not syslog (no PRI, bad RFC 5424 header, broken TCP framing): dropped. */
  malformed: number;
  /** Cut to maxMessageBytes (still accepted). */
  truncated: number;
  /** Valid, but no jail's syslog_program matches the program. */
  unrouted: number;
  /** UDP datagrams dropped because maxQueuedLines were waiting (the bus was down too long). */
  dropped: number;
}

export interface BoundAddress {
  protocol: 'udp' | 'tcp';
  address: string;
  port: number;
}

export function createSyslogSource(opts: SyslogSourceOptions): SyslogSource {
  return new SyslogSource(opts);
}

const DEFAULT_MAX_MESSAGE = 8192;
const MAX_MESSAGE_LIMIT = 65_536;

/**
 * Syslog over UDP and TCP (RFC 3164 and RFC 5424; octet-counted or LF-framed TCP). Each message is
 * rendered as a classic syslog line and sent to the jails whose programs it matches.
 *
 * Durability: TCP gets backpressure (sockets are paused while the bus refuses lines, so senders
 * such as rsyslog queue on their side); UDP cannot be acknowledged or slowed down, so datagrams
 * sent while too many lines wait, or while this process is down, are lost.
 */
export class SyslogSource implements LogSource {
  readonly kind = 'syslog';
  readonly #o: SyslogSourceOptions;
  readonly #router: SyslogRouter;
  readonly #clock: Clock;
  readonly #maxBytes: number;
  readonly #stats: SyslogStats = { received: 0, accepted: 0, malformed: 0, truncated: 0, unrouted: 0, dropped: 0 };
  /** Decides which of many identical complaints get logged. */
  readonly #complaints = new RejectCounter();
  readonly #udp: UdpSocket[] = [];
  readonly #tcp: Server[] = [];
  readonly #sockets = new Set<Socket>();
  readonly #bound: BoundAddress[] = [];
  #queue: ChunkQueue | null = null;
  #paused = false;
  #stopping = false;

  constructor(opts: SyslogSourceOptions) {
    this.#o = opts;
    this.#router = new SyslogRouter(opts.routes);
    this.#clock = opts.clock ?? systemClock;
    this.#maxBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE;
    if (!(Number.isInteger(this.#maxBytes) && this.#maxBytes >= 480 && this.#maxBytes <= MAX_MESSAGE_LIMIT)) {
      throw new PortcullisError('PC_CONFIG_INVALID', `syslog: maxMessageBytes must be an integer from 480 to ${MAX_MESSAGE_LIMIT}, got ${opts.maxMessageBytes}`);
    }
    for (const l of opts.listen) {
      if (l.protocol !== 'udp' && l.protocol !== 'tcp') throw new PortcullisError('PC_CONFIG_INVALID', `syslog: protocol must be udp or tcp, got ${String(l.protocol)}`);
      if (!(Number.isInteger(l.port) && l.port >= 0 && l.port <= 65535)) throw new PortcullisError('PC_CONFIG_INVALID', `syslog: port must be 0 to 65535, got ${l.port}`);
      if (isIP(l.host) === 0) throw new PortcullisError('PC_CONFIG_INVALID', `syslog: listen address must be an IP address, got ${JSON.stringify(l.host)}`);
    }
  }

  stats(): SyslogStats {
    return { ...this.#stats };
  }

  /** Where the listeners are bound (ports chosen by the system when 0 was asked). */
  addresses(): BoundAddress[] {
    return this.#bound.map((b) => ({ ...b }));
  }

  async start(sink: ChunkSink): Promise<void> {
    if (this.#queue) throw new PortcullisError('PC_INTERNAL', 'syslog source already started');
    if (this.#router.empty) this.#o.log.warn('syslog: no jail sets syslog_program; every message will be counted as unrouted');
    this.#queue = new ChunkQueue({
      sink,
      log: this.#o.log,
      retry: { minMs: this.#o.retryMinMs ?? 100, maxMs: this.#o.retryMaxMs ?? 5000 },
      batchMaxLines: this.#o.batchMaxLines ?? 1000,
      batchMaxDelayMs: this.#o.batchMaxDelayMs ?? 5,
      highWaterLines: this.#o.tcpPauseLines ?? 10_000,
      onPressure: (blocked) => this.#setPaused(blocked),
    });
    try {
      for (const l of this.#o.listen) {
        if (l.protocol === 'udp') await this.#listenUdp(l);
        else await this.#listenTcp(l);
      }
    } catch (e) {
      await this.stop();
      throw e;
    }
    this.#o.log.info({ listen: this.#bound }, 'syslog listening');
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await Promise.all(this.#udp.map((s) => new Promise<void>((r) => s.close(() => r()))));
    const closed = this.#tcp.map((s) => new Promise<void>((r) => s.close(() => r())));
    // Ask senders to stop; what they already sent is read and framed before the socket closes.
    for (const s of this.#sockets) {
      s.resume();
      s.end();
    }
    const forced = setTimeout(() => {
      for (const s of this.#sockets) s.destroy();
    }, 1000);
    await Promise.all(closed);
    clearTimeout(forced);
    if (this.#queue) {
      const { undelivered } = await this.#queue.close(this.#o.stopTimeoutMs ?? 5000);
      if (undelivered > 0) this.#o.log.error({ lines: undelivered }, 'syslog: stopping with lines the bus did not take; they are lost');
    }
  }

  #listenUdp(l: SyslogListen): Promise<void> {
    const sock = createSocket({ type: isIP(l.host) === 6 ? 'udp6' : 'udp4', reuseAddr: false });
    return new Promise((resolve, reject) => {
      sock.once('error', (e) => reject(listenError(l, e)));
      sock.bind(l.port, l.host, () => {
        sock.removeAllListeners('error');
        sock.on('error', (e) => this.#o.log.warn({ err: describeError(e) }, 'syslog: UDP socket error'));
        const a = sock.address();
        const origin = `syslog:udp/${a.address}:${a.port}`;
        this.#bound.push({ protocol: 'udp', address: a.address, port: a.port });
        sock.on('message', (msg, rinfo) => this.#onDatagram(msg, rinfo.address, origin));
        this.#udp.push(sock);
        resolve();
      });
    });
  }

  #listenTcp(l: SyslogListen): Promise<void> {
    const server = createServer({ allowHalfOpen: false });
    server.maxConnections = this.#o.maxTcpConnections ?? 1024;
    return new Promise((resolve, reject) => {
      server.once('error', (e) => reject(listenError(l, e)));
      server.listen(l.port, l.host, () => {
        server.removeAllListeners('error');
        server.on('error', (e) => this.#o.log.warn({ err: describeError(e) }, 'syslog: TCP server error'));
        const a = server.address();
        if (a === null || typeof a === 'string') return reject(new PortcullisError('PC_INTERNAL', 'syslog: TCP server has no address'));
        const origin = `syslog:tcp/${a.address}:${a.port}`;
        this.#bound.push({ protocol: 'tcp', address: a.address, port: a.port });
        server.on('connection', (s) => this.#onConnection(s, origin));
        this.#tcp.push(server);
        resolve();
      });
    });
  }

  #onDatagram(msg: Buffer, from: string, origin: string): void {
    if (this.#stopping) return;
    if (this.#queue && this.#queue.size >= (this.#o.maxQueuedLines ?? 50_000)) {
      this.#stats.dropped++;
      this.#complain('dropped', { from }, 'syslog: UDP datagram dropped, too many lines wait for the bus');
      return;
    }
    const body = trimTerminators(msg);
    const truncated = body.length > this.#maxBytes;
    this.#onMessage(truncated ? cutUtf8(body, this.#maxBytes) : body, truncated, from, origin);
  }

  #onConnection(s: Socket, origin: string): void {
    const from = s.remoteAddress ?? 'unknown';
    this.#sockets.add(s);
    if (this.#paused) s.pause();
    const framer = new TcpFramer(this.#maxBytes, {
      frame: (bytes, truncated) => this.#onMessage(bytes, truncated, from, origin),
      error: (reason) => {
        this.#stats.malformed++;
        this.#complain('framing', { from, reason }, 'syslog: broken TCP framing; closing the connection');
        s.destroy();
      },
    });
    s.on('data', (d: Buffer) => framer.push(d));
    s.on('end', () => framer.end());
    s.on('error', (e) => this.#o.log.debug({ from, err: describeError(e) }, 'syslog: TCP connection error'));
    s.on('close', () => this.#sockets.delete(s));
  }

  #onMessage(bytes: Buffer, truncated: boolean, from: string, origin: string): void {
    this.#stats.received++;
    const parsed = parseSyslog(decodeUtf8(bytes));
    if (!parsed.ok) {
      this.#stats.malformed++;
      this.#complain('malformed', { from, reason: parsed.reason, sample: decodeUtf8(bytes.subarray(0, 120)) }, 'syslog: malformed message dropped');
      return;
    }
    if (truncated) {
      this.#stats.truncated++;
      this.#complain('truncated', { from, maxBytes: this.#maxBytes }, 'syslog: message truncated');
    }
    const m = parsed.message;
    const jails = this.#router.jailsFor(m.appName);
    if (jails.length === 0) {
      this.#stats.unrouted++;
      if (this.#complaints.record('unrouted').shouldLog) this.#o.log.debug({ from, program: m.appName }, 'syslog: no jail for this program');
      return;
    }
    const now = this.#clock.now();
    const text = formatClassicLine({
      time: m.timestamp ?? formatRfc3339Ms(now),
      host: m.hostname ?? from,
      ident: m.appName,
      pid: m.procId,
      message: m.message,
    });
    this.#stats.accepted++;
    this.#queue?.push(origin, jails, { text, readAt: now });
  }

  #setPaused(paused: boolean): void {
    this.#paused = paused;
    if (this.#stopping) return;
    for (const s of this.#sockets) {
      if (paused) s.pause();
      else s.resume();
    }
    this.#o.log.info({ paused, waiting: this.#queue?.size ?? 0 }, paused ? 'syslog: TCP senders paused until the bus takes lines again' : 'syslog: TCP senders resumed');
  }

  #complain(kind: string, fields: Record<string, unknown>, msg: string): void {
    const { count, shouldLog } = this.#complaints.record(kind);
    if (shouldLog) this.#o.log.warn({ ...fields, count }, msg);
  }
}

function listenError(l: SyslogListen, e: unknown): PortcullisError {
  return new PortcullisError('PC_CONFIG_INVALID', `syslog: cannot listen on ${l.protocol} ${l.host}:${l.port}: ${describeError(e)}`, { cause: e });
}
