import type { Block, Doc } from '../../content/document.js';

/** The plain-text part: aligned label/value rows and indented lines, readable in any client. */
export function renderText(doc: Doc): string {
  const out: string[] = [doc.title, ''];
  for (const block of doc.blocks) {
    out.push(...textBlock(block), '');
  }
  out.push('-- ', doc.footer, '');
  return out.join('\n');
}

function textBlock(block: Block): string[] {
  switch (block.kind) {
    case 'text':
      return [block.text];
    case 'fields': {
      const width = Math.max(...block.rows.map(([label]) => label.length)) + 2;
      const rows = block.rows.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`);
      return block.heading ? [`${block.heading}:`, ...rows] : rows;
    }
    case 'table': {
      const widths = block.columns.map((c, i) => Math.max(c.length, ...block.rows.map((r) => (r[i] ?? '').length)));
      const line = (cells: readonly string[]): string =>
        '  ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
      return [`${block.heading}:`, line(block.columns), ...block.rows.map(line)];
    }
    case 'lines':
      return [`${block.heading}:`, ...block.lines.map((l) => `  ${l}`), ...(block.note ? [`  (${block.note})`] : [])];
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const CELL = 'padding:4px 8px;border-bottom:1px solid #e5e5e5;vertical-align:top';

/** The HTML part: one column, no images or remote content, wraps on a phone; every string escaped. */
export function renderHtml(doc: Doc): string {
  const parts: string[] = [
    '<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(doc.subject)}</title></head>`,
    '<body style="margin:0;padding:12px;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;font-size:15px;line-height:1.4;color:#1a1a1a">',
    '<div style="max-width:640px;margin:0 auto">',
    `<p style="font-size:17px;font-weight:600;margin:0 0 12px">${escapeHtml(doc.title)}</p>`,
  ];
  for (const block of doc.blocks) parts.push(htmlBlock(block));
  parts.push(`<p style="color:#666;font-size:12px;margin-top:16px">${escapeHtml(doc.footer)}</p>`, '</div></body></html>');
  return parts.join('\n');
}

function heading(text: string): string {
  return `<h3 style="font-size:15px;margin:16px 0 6px">${escapeHtml(text)}</h3>`;
}

function htmlBlock(block: Block): string {
  switch (block.kind) {
    case 'text':
      return `<p style="margin:8px 0">${escapeHtml(block.text)}</p>`;
    case 'fields': {
      const rows = block.rows
        .map(([label, value]) => `<tr><th style="${CELL};text-align:left;font-weight:600;white-space:nowrap">${escapeHtml(label)}</th><td style="${CELL};word-break:break-word">${escapeHtml(value)}</td></tr>`)
        .join('');
      return `${block.heading ? heading(block.heading) : ''}<table style="border-collapse:collapse;width:100%">${rows}</table>`;
    }
    case 'table': {
      const head = block.columns.map((c, i) => `<th style="${CELL};text-align:${i === 0 ? 'left' : 'right'}">${escapeHtml(c)}</th>`).join('');
      const rows = block.rows
        .map((r) => `<tr>${r.map((c, i) => `<td style="${CELL};text-align:${i === 0 ? 'left' : 'right'};word-break:break-word">${escapeHtml(c)}</td>`).join('')}</tr>`)
        .join('');
      return `${heading(block.heading)}<table style="border-collapse:collapse;width:100%"><tr>${head}</tr>${rows}</table>`;
    }
    case 'lines': {
      const body = block.lines.map(escapeHtml).join('\n');
      const note = block.note ? `<p style="color:#666;margin:4px 0">${escapeHtml(block.note)}</p>` : '';
      return `${heading(block.heading)}<pre style="white-space:pre-wrap;word-break:break-all;background:#f5f5f5;padding:8px;border-radius:4px;font-size:13px;margin:0">${body}</pre>${note}`;
    }
  }
}
