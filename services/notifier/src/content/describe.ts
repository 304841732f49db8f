import type { BanDecisionV1, FlowAlertV1 } from '@portcullis/shared';
import type { DigestReport } from '../digest/report.js';
import type { Block, Doc } from './document.js';
import type { NotifyEvent } from './events.js';
import { formatBantime, formatCount, formatRate, formatShare, formatTime, ordinal } from './format.js';
import type { Notification } from './notification.js';
import { headerSafe, visibleLine } from './sanitize.js';
import type { BatchSummary } from './summary.js';

const PREFIX = '[Portcullis]';

/** Builds the document every channel renders for a notification. */
export function describe(n: Notification): Doc {
  const footer = `Sent by the Portcullis notifier on ${visibleLine(n.host, 128)}. Notification ${n.id}.`;
  switch (n.kind) {
    case 'event':
      return n.event.type === 'flood' ? describeFlood(n.event.alert, footer) : describeDecision(n.event.decision, n.reverseDns, footer);
    case 'summary':
      return describeSummary(n.summary, n.windowMs, footer);
    case 'digest':
      return describeDigest(n.digest, footer);
  }
}

function describeDecision(d: BanDecisionV1, reverseDns: string | null | undefined, footer: string): Doc {
  const jail = headerSafe(d.jail, 40);
  const where = d.seenOn ?? d.decidedBy;
  const rows: [string, string][] = [['Address', d.ip]];
  if (reverseDns !== undefined) rows.push(['Reverse DNS', reverseDns === null ? 'none (no name, or no answer in time)' : visibleLine(reverseDns, 255)]);
  rows.push(
    ['Jail', visibleLine(d.jail, 128)],
    ['Seen on', visibleLine(where, 128)],
    ['Decided by', visibleLine(d.decidedBy, 128)],
    ['Time', formatTime(d.at)],
  );
  if (d.kind === 'ban') {
    if (d.bantime !== undefined) rows.push(['Ban time', d.bantime < 0 ? 'permanent' : `${formatBantime(d.bantime)} (${d.bantime} s)`]);
    rows.push(['Banned until', d.until === null ? 'permanent' : d.until === undefined ? 'unknown' : formatTime(d.until)]);
    if (d.failures !== undefined) rows.push(['Failures', formatCount(d.failures)]);
    if (d.banCount !== undefined) rows.push(['Escalation', d.banCount > 0 ? `${ordinal(d.banCount)} ban of this address in this jail` : 'first ban']);
  }
  rows.push(['Origin', d.origin]);
  if (d.by !== undefined) rows.push(['Requested by', visibleLine(d.by, 256)]);
  if (d.reason !== '') rows.push(['Reason', visibleLine(d.reason, 1024)]);
  rows.push(['Decision id', visibleLine(d.id, 256)]);
  const blocks: Block[] = [{ kind: 'fields', rows }];
  const matches = d.matches ?? [];
  if (matches.length > 0) blocks.push({ kind: 'lines', heading: 'Matched log lines', lines: matches.map((l) => visibleLine(l)) });
  const verb = d.kind === 'ban' ? 'Banned' : 'Unbanned';
  return {
    subject: `${PREFIX} ${verb} ${headerSafe(d.ip, 64)} in ${jail} on ${headerSafe(where, 40)}`,
    title: `${verb} ${d.ip} in jail ${visibleLine(d.jail, 128)}${d.kind === 'ban' && d.until === null ? ' permanently' : ''}.`,
    blocks,
    footer,
  };
}

const PHASE_WORD: Record<FlowAlertV1['phase'], string> = { start: 'started', update: 'continues', end: 'ended' };

function describeFlood(a: FlowAlertV1, footer: string): Doc {
  const rows: [string, string][] = [
    ['Attack', a.attack],
    ['Phase', a.phase],
    ['Host', visibleLine(a.host, 128)],
    ['Time', formatTime(a.at)],
    ['Rate', `${formatRate(a.rate)} ${visibleLine(a.metric, 128)}`],
    ['Baseline', `${formatRate(a.baseline)} ${visibleLine(a.metric, 128)}`],
  ];
  if (a.baseline > 0) rows.push(['Above baseline', `${(a.rate / a.baseline).toFixed(1)}x`]);
  rows.push(['Mitigation', a.mitigation === '' ? 'none' : visibleLine(a.mitigation, 1024)]);
  rows.push(['Alert id', visibleLine(a.id, 256)]);
  const blocks: Block[] = [{ kind: 'fields', rows }];
  if (a.topSources.length > 0) {
    blocks.push({ kind: 'table', heading: 'Top sources', columns: ['Address', 'Share'], rows: a.topSources.map((s) => [s.ip, formatShare(s.share)]) });
  }
  return {
    subject: `${PREFIX} Flood ${PHASE_WORD[a.phase]}: ${a.attack} on ${headerSafe(a.host, 40)}`,
    title: `A ${a.attack} ${PHASE_WORD[a.phase]} on ${visibleLine(a.host, 128)}: ${formatRate(a.rate)} ${visibleLine(a.metric, 128)} against a baseline of ${formatRate(a.baseline)}.`,
    blocks,
    footer,
  };
}

function sampleLine(e: NotifyEvent): string {
  if (e.type === 'flood') {
    const a = e.alert;
    return `${formatTime(a.at)} flood ${a.phase} ${a.attack} on ${visibleLine(a.host, 128)}: ${formatRate(a.rate)} ${visibleLine(a.metric, 128)} (baseline ${formatRate(a.baseline)})`;
  }
  const d = e.decision;
  const extra: string[] = [];
  if (d.failures !== undefined) extra.push(`${d.failures} failures`);
  if (d.kind === 'ban' && d.bantime !== undefined) extra.push(`bantime ${formatBantime(d.bantime)}`);
  if (d.banCount !== undefined && d.banCount > 1) extra.push(`${ordinal(d.banCount)} ban`);
  const tail = extra.length > 0 ? ` (${extra.join(', ')})` : '';
  return `${formatTime(d.at)} ${d.kind} ${d.ip} in ${visibleLine(d.jail, 128)} on ${visibleLine(d.seenOn ?? d.decidedBy, 128)}${tail}`;
}

function countsPhrase(s: { bans: number; unbans: number; floods?: number }): string {
  const parts: string[] = [];
  if (s.bans > 0) parts.push(`${formatCount(s.bans)} ban${s.bans === 1 ? '' : 's'}`);
  if (s.unbans > 0) parts.push(`${formatCount(s.unbans)} unban${s.unbans === 1 ? '' : 's'}`);
  if (s.floods !== undefined && s.floods > 0) parts.push(`${formatCount(s.floods)} flood alert${s.floods === 1 ? '' : 's'}`);
  return parts.length > 0 ? parts.join(', ') : 'nothing';
}

function jailRows(s: Pick<BatchSummary, 'jails' | 'otherJails'>): string[][] {
  const rows = s.jails.map((j) => [visibleLine(j.jail, 128), formatCount(j.bans), formatCount(j.unbans)]);
  if (s.otherJails.jails > 0) rows.push([`${formatCount(s.otherJails.jails)} other jails`, formatCount(s.otherJails.bans), formatCount(s.otherJails.unbans)]);
  return rows;
}

function describeSummary(s: BatchSummary, windowMs: number, footer: string): Doc {
  const topJail = s.jails[0];
  const rows: [string, string][] = [
    ['Events', formatCount(s.total)],
    ['Bans', formatCount(s.bans)],
    ['Unbans', formatCount(s.unbans)],
    ['Flood alerts', formatCount(s.floods)],
    ['Distinct addresses', formatCount(s.distinctAddresses)],
    ['First', formatTime(s.firstAt)],
    ['Last', formatTime(s.lastAt)],
  ];
  const blocks: Block[] = [
    { kind: 'text', text: `Many events arrived together, so they are summarized: at most one message every ${formatBantime(Math.round(windowMs / 1000))} goes to each recipient. All counts below are exact.` },
    { kind: 'fields', rows },
  ];
  if (s.jails.length > 0) blocks.push({ kind: 'table', heading: 'Jails', columns: ['Jail', 'Bans', 'Unbans'], rows: jailRows(s) });
  if (s.topAddresses.length > 0) blocks.push({ kind: 'table', heading: 'Top addresses', columns: ['Address', 'Events'], rows: s.topAddresses.map((a) => [a.name, formatCount(a.count)]) });
  if (s.hosts.length > 0) blocks.push({ kind: 'table', heading: 'Hosts', columns: ['Host', 'Events'], rows: s.hosts.map((h) => [visibleLine(h.name, 128), formatCount(h.count)]) });
  if (s.floodAlerts.length > 0) {
    blocks.push({
      kind: 'lines',
      heading: 'Flood alerts',
      lines: s.floodAlerts.map((a) => `${sampleLine({ type: 'flood', id: a.id, at: a.at, alert: a })}; top source ${a.topSources[0]?.ip ?? 'none'}; mitigation: ${visibleLine(a.mitigation, 256) || 'none'}`),
      ...(s.floods > s.floodAlerts.length ? { note: `${formatCount(s.floods - s.floodAlerts.length)} more not shown` } : {}),
    });
  }
  blocks.push({
    kind: 'lines',
    heading: `Sample (first ${formatCount(s.sample.length)} of ${formatCount(s.total)})`,
    lines: s.sample.map(sampleLine),
  });
  const lead = topJail ? `, top jail ${headerSafe(topJail.jail, 30)}` : '';
  return {
    subject: `${PREFIX} ${formatCount(s.total)} events: ${countsPhrase(s)}${lead}`,
    title: `${formatCount(s.total)} events between ${formatTime(s.firstAt)} and ${formatTime(s.lastAt)}: ${countsPhrase(s)}.`,
    blocks,
    footer,
  };
}

function describeDigest(r: DigestReport, footer: string): Doc {
  const rows: [string, string][] = [
    ['Period', `${formatTime(r.from)} to ${formatTime(r.to)}`],
    ['Bans', formatCount(r.bans)],
    ['Permanent bans', formatCount(r.permanentBans)],
    ['Unbans', formatCount(r.unbans)],
    ['Distinct banned addresses', formatCount(r.distinctAddresses)],
    ['Floods started', formatCount(r.floods.started)],
  ];
  if (r.invalid > 0) rows.push(['Invalid messages skipped', formatCount(r.invalid)]);
  const blocks: Block[] = [{ kind: 'fields', rows }];
  if (r.jails.length > 0) blocks.push({ kind: 'table', heading: 'Jails', columns: ['Jail', 'Bans', 'Unbans'], rows: jailRows(r) });
  if (r.topAddresses.length > 0) blocks.push({ kind: 'table', heading: 'Most banned addresses', columns: ['Address', 'Bans'], rows: r.topAddresses.map((a) => [a.name, formatCount(a.count)]) });
  if (r.hosts.length > 0) blocks.push({ kind: 'table', heading: 'Hosts', columns: ['Host', 'Bans'], rows: r.hosts.map((h) => [visibleLine(h.name, 128), formatCount(h.count)]) });
  if (r.origins.length > 0) blocks.push({ kind: 'table', heading: 'Origins', columns: ['Origin', 'Bans'], rows: r.origins.map((o) => [o.name, formatCount(o.count)]) });
  if (r.floods.alerts.length > 0) {
    blocks.push({
      kind: 'lines',
      heading: 'Floods',
      lines: r.floods.alerts.map((a) => `${formatTime(a.at)} ${a.attack} on ${visibleLine(a.host, 128)}: ${formatRate(a.rate)} ${visibleLine(a.metric, 128)} (baseline ${formatRate(a.baseline)})`),
      ...(r.floods.started > r.floods.alerts.length ? { note: `${formatCount(r.floods.started - r.floods.alerts.length)} more not shown` } : {}),
    });
  }
  return {
    subject: `${PREFIX} Daily digest ${r.date}: ${countsPhrase({ bans: r.bans, unbans: r.unbans })}, ${formatCount(r.floods.started)} flood${r.floods.started === 1 ? '' : 's'}`,
    title: `Daily digest for ${r.date}: ${countsPhrase({ bans: r.bans, unbans: r.unbans })} and ${formatCount(r.floods.started)} flood${r.floods.started === 1 ? '' : 's'}.`,
    blocks,
    footer,
  };
}
