import { describe, expect, it } from 'vitest';
import { TickAggregator } from '../src/metrics/aggregator.js';
import { netDevRates, parseNetDev } from '../src/proc/net-dev.js';
import { parseSnmp, parseSnmp6, ratesBetween } from '../src/proc/snmp.js';
import { ConnAges, parseProcTcp } from '../src/proc/tcp-conns.js';

// Real lines (kernel 6.x, x86-64): local 192.0.2.1:80 <- 192.0.2.2:40000 established, a listener,
// and a v6 socket holding an IPv4-mapped peer and a real v6 peer.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0
   1: 010200C0:0050 020200C0:9C40 01 00000000:00000000 00:00000000 00000000     0        0 1002 1 0000000000000000 20 4 30 10 -1
   2: 010200C0:0016 020200C0:9C41 01 00000000:00000000 00:00000000 00000000     0        0 1003 1 0000000000000000 20 4 30 10 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF0000010200C0:01BB 0000000000000000FFFF0000020200C0:A000 01 00000000:00000000 00:00000000 00000000     0        0 2001 1 0000000000000000 20 4 30 10 -1
   1: B80D0120000000000000000001000000:01BB B80D0120000000000000000002000000:A001 01 00000000:00000000 00:00000000 00000000     0        0 2002 1 0000000000000000 20 4 30 10 -1
`;

describe('/proc parsers', () => {
  it('reads established connections to the service ports from /proc/net/tcp and tcp6', () => {
    const ports = new Set([80, 443]);
    expect(parseProcTcp(TCP, ports, true)).toEqual([{ localPort: 80, remote: '192.0.2.2', remotePort: 40000 }]);
    expect(parseProcTcp(TCP6, ports, true)).toEqual([
      { localPort: 443, remote: '192.0.2.2', remotePort: 40960 },
      { localPort: 443, remote: '2001:db8::2', remotePort: 40961 },
    ]);
  });

  it('counts a connection as long-lived only after it has been seen for the minimum age', () => {
    const ages = new ConnAges();
    const c = (rp: number) => ({ localPort: 80, remote: '192.0.2.2', remotePort: rp });
    expect(ages.update([c(1), c(2)], 1000, 500).longLived.size).toBe(0);
    expect(ages.update([c(1), c(2), c(3)], 1600, 500).longLived.get('192.0.2.2')).toBe(2);
    // c(1) closed and came back with the same port: it starts over.
    const later = ages.update([c(2), c(3)], 2000, 500);
    expect(later.longLived.get('192.0.2.2')).toBe(1);
    expect(ages.update([c(1)], 2100, 500).longLived.size).toBe(0);
  });

  it('parses snmp, netstat and snmp6 and sums v4 and v6 into rates', () => {
    const snmp = 'Udp: InDatagrams NoPorts InErrors\nUdp: 10 100 0\nTcp: PassiveOpens\nTcp: 5\n';
    const snmp2 = 'Udp: InDatagrams NoPorts InErrors\nUdp: 20 600 0\nTcp: PassiveOpens\nTcp: 7\n';
    const a = new Map([...parseSnmp(snmp), ...parseSnmp6('Udp6NoPorts 1\nIcmp6InMsgs 4\n')]);
    const b = new Map([...parseSnmp(snmp2), ...parseSnmp6('Udp6NoPorts 101\nIcmp6InMsgs 4\n')]);
    const r = ratesBetween(a, b, 500);
    expect(r.udp_noports_ps).toBe(1200);
    expect(r.udp_in_ps).toBe(20);
    expect(r.tcp_passive_opens_ps).toBe(4);
    // A counter going backwards (namespace re-created) is no negative rate.
    expect(ratesBetween(b, a, 500).udp_noports_ps).toBe(0);
  });

  it('sums /proc/net/dev over every interface but loopback', () => {
    const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 999999   9999    0    0    0     0          0         0   999999    9999    0    0    0     0       0          0
  eth0: 1000       10    0    1    0     0          0         0     2000      20    0    0    0     0       0          0
pv1a: 3000       30    0    2    0     0          0         0     2000      20    0    0    0     0       0          0
`;
    const t = parseNetDev(text);
    expect(t).toEqual({ rxBytes: 4000, rxPackets: 40, rxDropped: 3 });
    expect(netDevRates({ rxBytes: 0, rxPackets: 0, rxDropped: 0 }, t, 2000)).toEqual({ rx_pps: 20, rx_bps: 16000, rx_drop_ps: 1.5 });
  });
});

describe('tick aggregation', () => {
  it('publishes the time-weighted average and the peak of the fast ticks', () => {
    const agg = new TickAggregator();
    agg.add({ udp_pps: 100 }, 100);
    agg.add({ udp_pps: 1000 }, 100);
    agg.add({ udp_pps: 100, icmp_pps: 5 }, 200);
    expect(agg.coveredMs).toBe(400);
    const out = agg.take();
    expect(out.avg.udp_pps).toBeCloseTo(325, 6);
    expect(out.peak.udp_pps).toBe(1000);
    expect(out.avg.icmp_pps).toBe(5);
    expect(out.ticks).toBe(3);
    expect(agg.size).toBe(0);
  });
});
