import { PortcullisError, type SourceRef } from '@portcullis/shared';

export type L4 = 'tcp' | 'udp';

export interface ServicePort {
  port: number;
  proto: L4;
}

/** The ports flowmon counts separately unless `service_ports` says otherwise. */
export const DEFAULT_SERVICE_PORTS = '80/tcp 443/tcp 8443/tcp 8447/tcp 22/tcp 21/tcp 25/tcp 465/tcp 587/tcp 110/tcp 995/tcp 143/tcp 993/tcp 3306/tcp 53/udp';

/** `80/tcp 443/tcp, 53/udp`: a bare number means tcp. Duplicates are dropped; order is kept. */
export function parseServicePorts(text: string, ref?: SourceRef, key = 'service_ports'): ServicePort[] {
  const out: ServicePort[] = [];
  const seen = new Set<string>();
  for (const word of text.split(/[\s,]+/).filter(Boolean)) {
    const m = /^(\d{1,5})(?:\/(tcp|udp))?$/i.exec(word);
    const port = m ? Number(m[1]) : NaN;
    if (!m || port < 1 || port > 65535) {
      throw invalidOption(ref, `${key}: ${JSON.stringify(word)} is not a port such as 80/tcp or 53/udp (1-65535; a bare number means tcp)`);
    }
    const proto = (m[2]?.toLowerCase() ?? 'tcp') as L4;
    const id = `${port}/${proto}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ port, proto });
  }
  return out;
}

/** A list of plain port numbers (`80 443`). */
export function parsePortNumbers(text: string, ref: SourceRef | undefined, key: string): number[] {
  const out: number[] = [];
  for (const word of text.split(/[\s,]+/).filter(Boolean)) {
    const n = /^\d{1,5}$/.test(word) ? Number(word) : NaN;
    if (!(n >= 1 && n <= 65535)) throw invalidOption(ref, `${key}: ${JSON.stringify(word)} is not a port number (1-65535)`);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

export function invalidOption(ref: SourceRef | undefined, message: string): PortcullisError {
  return new PortcullisError('PC_CONFIG_INVALID', `${message} (section [flowmon])`, ref ? { location: ref } : {});
}
