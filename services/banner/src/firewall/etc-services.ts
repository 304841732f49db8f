import { readFileSync } from 'node:fs';
import { PortcullisError } from '@portcullis/shared';

/** Service names to port numbers, per protocol, as /etc/services lists them (names and aliases). */
export interface ServiceTable {
  /** The port of `name`, preferring the given protocols in order, then any protocol; undefined if unknown. */
  lookup(name: string, preferProtocols?: readonly string[]): number | undefined;
}

export const ETC_SERVICES = '/etc/services';

export function loadServiceTable(path: string = ETC_SERVICES): ServiceTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PortcullisError('PC_CONFIG_NOT_FOUND', `cannot read the services database ${path}`, { cause: e });
  }
  return parseServices(text);
}

/** Parses services(5): `name port/protocol [aliases...] [# comment]`; malformed lines are skipped like libc does. */
export function parseServices(text: string): ServiceTable {
  const byName = new Map<string, Map<string, number>>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const [name, portProto, ...aliases] = line.split(/\s+/);
    const m = /^(\d+)\/([a-z0-9-]+)$/i.exec(portProto ?? '');
    if (!name || !m) continue;
    const port = Number(m[1]);
    if (port > 65535) continue;
    const proto = m[2]!.toLowerCase();
    for (const n of [name, ...aliases]) {
      const key = n.toLowerCase();
      let protos = byName.get(key);
      if (!protos) byName.set(key, (protos = new Map()));
      // The first entry wins, as getservbyname(3) returns the first match.
      if (!protos.has(proto)) protos.set(proto, port);
    }
  }
  return {
    lookup(name, preferProtocols = ['tcp', 'udp', 'sctp']) {
      const protos = byName.get(name.toLowerCase());
      if (!protos) return undefined;
      for (const p of preferProtocols) {
        const port = protos.get(p);
        if (port !== undefined) return port;
      }
      return protos.values().next().value;
    },
  };
}
