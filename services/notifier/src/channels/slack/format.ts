import type { Block, Doc } from '../../content/document.js';
import { describe } from '../../content/describe.js';
import type { Notification } from '../../content/notification.js';
import { truncate } from '../../content/sanitize.js';

/** Slack's limits: 3000 characters per section text, 150 per header, 50 blocks. */
const SECTION_MAX = 3000;
const HEADER_MAX = 150;
const MAX_BLOCKS = 50;

export type SlackBlock =
  | { type: 'header'; text: { type: 'plain_text'; text: string } }
  | { type: 'section'; text: { type: 'mrkdwn'; text: string } }
  | { type: 'context'; elements: { type: 'mrkdwn'; text: string }[] };

export interface SlackPayload {
  /** Shown in notifications and by clients without blocks. */
  text: string;
  blocks: SlackBlock[];
}

/** Slack's required escaping: with <, > and & escaped, no text can form a link or @channel mention. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Inside ``` a backtick run could close the code block early; show backticks as a look-alike. */
function codeSafe(text: string): string {
  return escapeSlack(text).replace(/`/g, 'ˋ');
}

function section(text: string): SlackBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, SECTION_MAX) } };
}

function code(lines: readonly string[]): string {
  const body = lines.map(codeSafe).join('\n');
  // Leave room for the fences when cutting.
  return '```' + truncate(body, SECTION_MAX - 8) + '```';
}

function slackBlock(block: Block): SlackBlock {
  switch (block.kind) {
    case 'text':
      return section(escapeSlack(block.text));
    case 'fields': {
      const rows = block.rows.map(([label, value]) => `*${escapeSlack(label)}:* ${escapeSlack(value)}`);
      return section((block.heading ? `*${escapeSlack(block.heading)}*\n` : '') + rows.join('\n'));
    }
    case 'table': {
      const widths = block.columns.map((c, i) => Math.max(c.length, ...block.rows.map((r) => (r[i] ?? '').length)));
      const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
      return section(`*${escapeSlack(block.heading)}*\n${code([line(block.columns), ...block.rows.map(line)])}`);
    }
    case 'lines':
      return section(`*${escapeSlack(block.heading)}*\n${code(block.note ? [...block.lines, `(${block.note})`] : block.lines)}`);
  }
}

export function slackPayload(n: Notification): SlackPayload {
  const doc: Doc = describe(n);
  const header: SlackBlock = { type: 'header', text: { type: 'plain_text', text: truncate(doc.subject, HEADER_MAX) } };
  const blocks: SlackBlock[] = [header, section(escapeSlack(doc.title)), ...doc.blocks.map(slackBlock)].slice(0, MAX_BLOCKS - 1);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: escapeSlack(doc.footer) }] });
  return { text: escapeSlack(doc.subject), blocks };
}
