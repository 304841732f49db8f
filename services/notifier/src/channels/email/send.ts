import { createTransport, type Transporter } from 'nodemailer';
import { describe } from '../../content/describe.js';
import type { Notification } from '../../content/notification.js';
import { headerSafe } from '../../content/sanitize.js';
import type { Mailbox } from '../../config/addresses.js';
import type { SmtpConfig } from './config.js';
import { renderHtml, renderText } from './format.js';

/**
 * SMTP only, through nodemailer: no shell, no sendmail binary. Files and URLs as content are
 * disabled. The envelope is given explicitly, so the recipients are exactly the configured ones
 * whatever the message says.
 */
export function createSmtpTransport(smtp: SmtpConfig, clientName: string): Transporter {
  return createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: smtp.starttls === 'require',
    ignoreTLS: smtp.starttls === 'off',
    ...(smtp.user !== undefined && smtp.password !== undefined ? { auth: { user: smtp.user, pass: smtp.password } } : {}),
    tls: { rejectUnauthorized: smtp.tlsVerify, minVersion: 'TLSv1.2', ...(smtp.ca !== undefined ? { ca: smtp.ca } : {}) },
    name: clientName,
    connectionTimeout: smtp.timeoutMs,
    greetingTimeout: smtp.timeoutMs,
    socketTimeout: smtp.timeoutMs,
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
  });
}

export interface OutgoingMail {
  from: Mailbox;
  to: string;
  notification: Notification;
}

/** Builds and sends one mail; resolves when the server accepted it (250 after DATA). */
export async function sendMail(transport: Transporter, mail: OutgoingMail): Promise<void> {
  const n = mail.notification;
  const doc = describe(n);
  const domain = mail.from.address.slice(mail.from.address.lastIndexOf('@') + 1);
  const headers: Record<string, string> = {
    'Auto-Submitted': 'auto-generated',
    'X-Auto-Response-Suppress': 'All',
    'X-Portcullis-Event': n.kind === 'event' ? n.event.type : n.kind,
  };
  if (n.kind === 'summary') headers['X-Portcullis-Count'] = String(n.summary.total);
  const info: { rejected?: unknown[] } = await transport.sendMail({
    from: mail.from.name !== undefined ? { name: mail.from.name, address: mail.from.address } : mail.from.address,
    to: mail.to,
    envelope: { from: mail.from.address, to: [mail.to] },
    subject: headerSafe(doc.subject, 200),
    text: renderText(doc),
    html: renderHtml(doc),
    messageId: `<${n.id}@${domain}>`,
    headers,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  if (Array.isArray(info.rejected) && info.rejected.length > 0) {
    throw new Error(`the SMTP server rejected ${mail.to}`);
  }
}
