import { join } from 'node:path';
import { createConnection } from 'node:net';
import { ensureExecutable } from './executable.js';
import { formatUrl, startLocalServer, type LocalServer, type ProbeTarget } from './local-server.js';

export interface RedisServerOptions {
  /** Bind address. Default 127.0.0.1. */
  host?: string;
  /** Default: a free port. */
  port?: number;
  /** Data directory (created if missing); holds the append-only file and redis.log. */
  dir: string;
  /** Append-only persistence. Default true: bans must survive a restart. */
  appendonly?: boolean;
  /** Install the redis-server apt package if the binary is missing. Default false. */
  install?: boolean;
  /** Default 10 s. */
  readyTimeoutMs?: number;
  log?: (msg: string) => void;
}

/** Starts `redis-server` in the foreground and resolves once PING answers PONG. */
export async function startRedisServer(opts: RedisServerOptions): Promise<LocalServer> {
  const binary = await ensureExecutable('redis-server', 'redis-server', { install: opts.install ?? false, ...(opts.log ? { log: opts.log } : {}) });
  const host = opts.host ?? '127.0.0.1';
  const logFile = join(opts.dir, 'redis.log');
  return startLocalServer({
    name: 'redis-server',
    binary,
    host,
    port: opts.port,
    dataDir: opts.dir,
    args: (port) => [
      '--port', String(port),
      '--bind', host,
      '--dir', opts.dir,
      '--appendonly', opts.appendonly === false ? 'no' : 'yes',
      '--save', '',
      '--daemonize', 'no',
      '--logfile', logFile,
    ],
    url: (h, port) => formatUrl('redis', h, port),
    probe: probeRedis,
    logFile,
    ...(opts.readyTimeoutMs !== undefined ? { readyTimeoutMs: opts.readyTimeoutMs } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
}

/** PING must answer PONG (a loading server answers -LOADING) and the server must be our process. */
async function probeRedis(target: ProbeTarget): Promise<void> {
  // Raw RESP keeps the probe free of client-library timers that would hold the event loop open.
  const [pong, info] = await redisCommands(target, ['PING', 'INFO server']);
  if (pong !== 'PONG') throw new Error(`PING answered ${pong}`);
  const pid = /^process_id:(\d+)/m.exec(info ?? '')?.[1];
  if (pid !== String(target.pid)) throw new Error(`port ${target.port} is served by another Redis server (pid ${pid ?? 'unknown'})`);
}

/** Sends inline commands and resolves their simple-string or bulk replies; an error reply rejects. */
function redisCommands(target: ProbeTarget, commands: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: target.host, port: target.port });
    let buffer = '';
    const fail = (e: Error): void => {
      socket.destroy();
      reject(e);
    };
    socket.setTimeout(target.timeoutMs, () => fail(new Error(`no answer within ${target.timeoutMs} ms`)));
    socket.setEncoding('utf8');
    socket.once('error', fail);
    socket.once('close', () => reject(new Error('connection closed before all replies arrived')));
    socket.once('connect', () => socket.write(commands.map((c) => `${c}\r\n`).join('')));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const replies = parseReplies(buffer, commands.length);
      if (replies instanceof Error) return fail(replies);
      if (replies === undefined) return;
      socket.destroy();
      resolve(replies);
    });
  });
}

/** The first `count` replies in `buffer`, undefined if incomplete. Byte counts equal char counts for the ASCII replies probed. */
function parseReplies(buffer: string, count: number): string[] | Error | undefined {
  const replies: string[] = [];
  let pos = 0;
  while (replies.length < count) {
    const eol = buffer.indexOf('\r\n', pos);
    if (eol < 0) return undefined;
    const line = buffer.slice(pos, eol);
    pos = eol + 2;
    if (line.startsWith('+')) {
      replies.push(line.slice(1));
    } else if (line.startsWith('-')) {
      return new Error(`redis answered ${line.slice(1)}`);
    } else if (line.startsWith('$')) {
      const length = Number(line.slice(1));
      if (buffer.length < pos + length + 2) return undefined;
      replies.push(buffer.slice(pos, pos + length));
      pos += length + 2;
    } else {
      return new Error(`unexpected reply ${JSON.stringify(line.slice(0, 40))}`);
    }
  }
  return replies;
}
