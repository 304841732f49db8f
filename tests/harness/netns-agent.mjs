// Runs inside a test network namespace (started by netns-agent-client.ts through `ip netns exec`).
// Sockets belong to the namespace of the process that opens them, so one long-lived agent per namespace
// serves every probe and listener without paying a Node start-up per connection attempt.
// Protocol: one JSON request per stdin line {id, op, ...}; one JSON reply per stdout line {id, ok, result|error}.
import dgram from 'node:dgram';
import net from 'node:net';
import process from 'node:process';
import readline from 'node:readline';
import { clearTimeout, setTimeout } from 'node:timers';

const listeners = new Map();
let nextListenerId = 1;

function reply(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function classify(code) {
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EACCES' || code === 'EPERM') return 'unreachable';
  if (code === 'ETIMEDOUT') return 'timeout';
  return `error:${code ?? 'unknown'}`;
}

function probeTcp({ host, port, timeoutMs }) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let done = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.once('connect', () => finish('accepted'));
    socket.once('error', (e) => finish(classify(e.code)));
  });
}

function probeUdp({ host, port, timeoutMs }) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    let done = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve(result);
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    // A connected UDP socket surfaces ICMP port-unreachable as ECONNREFUSED.
    socket.once('error', (e) => finish(classify(e.code)));
    socket.once('message', () => finish('replied'));
    socket.connect(port, host, () => socket.send('portcullis-probe'));
  });
}

function listenOn(server, port, host) {
  return new Promise((resolve, reject) => {
    const onError = (e) => reject(e);
    server.once('error', onError);
    const done = () => {
      server.removeListener('error', onError);
      resolve();
    };
    if (server instanceof net.Server) {
      // No address given: dual-stack so one listener answers IPv4 and IPv6.
      server.listen({ port, host: host ?? '::', ipv6Only: false, exclusive: true }, done);
    } else {
      server.bind({ port, address: host, exclusive: true }, done);
    }
  });
}

function record(entry, peer) {
  entry.count += 1;
  entry.peers.push(peer);
  if (entry.peers.length > 100) entry.peers.shift();
}

async function listenTcp({ port, host }) {
  const entry = { count: 0, peers: [], server: undefined, sockets: new Set() };
  const server = net.createServer((socket) => {
    record(entry, socket.remoteAddress);
    entry.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => entry.sockets.delete(socket));
    socket.resume(); // read to EOF so the close completes even if the peer sent data
    socket.end();
  });
  entry.server = server;
  await listenOn(server, port, host);
  const id = nextListenerId++;
  listeners.set(id, entry);
  return { id, port: server.address().port };
}

async function listenUdp({ port, host }) {
  const family = host === undefined || net.isIPv6(host) ? 'udp6' : 'udp4';
  const entry = { count: 0, peers: [], server: undefined, sockets: new Set() };
  const server = dgram.createSocket({ type: family, ipv6Only: false });
  server.on('message', (msg, rinfo) => {
    record(entry, rinfo.address);
    server.send(msg, rinfo.port, rinfo.address);
  });
  entry.server = server;
  await listenOn(server, port, host ?? (family === 'udp6' ? '::' : '0.0.0.0'));
  const id = nextListenerId++;
  listeners.set(id, entry);
  return { id, port: server.address().port };
}

function closeListener({ listener }) {
  const entry = listeners.get(listener);
  if (!entry) return Promise.resolve(false);
  listeners.delete(listener);
  for (const socket of entry.sockets) socket.destroy();
  return new Promise((resolve) => entry.server.close(() => resolve(true)));
}

function stats({ listener }) {
  const entry = listeners.get(listener);
  if (!entry) throw new Error(`no listener ${listener}`);
  return { count: entry.count, peers: [...entry.peers] };
}

const ops = { probeTcp, probeUdp, listenTcp, listenUdp, close: closeListener, stats };

const input = readline.createInterface({ input: process.stdin });
input.on('line', async (line) => {
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    return;
  }
  const op = ops[request.op];
  try {
    if (!op) throw new Error(`unknown op ${request.op}`);
    reply({ id: request.id, ok: true, result: await op(request) });
  } catch (e) {
    reply({ id: request.id, ok: false, error: e instanceof Error ? e.message : String(e), code: e?.code });
  }
});
// The test process holds our stdin: when it goes away, so do we (and every listener with us).
input.on('close', () => process.exit(0));
reply({ ready: true });
