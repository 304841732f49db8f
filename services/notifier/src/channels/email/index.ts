import { DeliveryError } from '../delivery-error.js';
import { registerChannel, type Channel, type Target } from '../types.js';
import { EMAIL_KEYS, parseEmailConfig, type EmailConfig } from './config.js';
import { allRecipients, mayReceive, recipientsFor, senderFor } from './routing.js';
import { EVENT_TYPES } from '../../content/events.js';
import { createSmtpTransport, sendMail } from './send.js';

export type { EmailConfig } from './config.js';

/** E-mail over SMTP: one target per recipient address. */
export const emailChannel = registerChannel<EmailConfig>({
  name: 'email',
  keys: EMAIL_KEYS,
  parse: parseEmailConfig,
  create: (config, deps): Channel => {
    const transport = createSmtpTransport(config.smtp, config.sender.address.slice(config.sender.address.lastIndexOf('@') + 1));
    const targets: Target[] = allRecipients(config).map((recipient) => ({
      channel: 'email',
      key: `email:${recipient}`,
      label: `email ${recipient}`,
      types: EVENT_TYPES.filter((type) => mayReceive(config, type, recipient)),
      wants: (event) => recipientsFor(config, event).includes(recipient),
      send: async (notification) => {
        try {
          await sendMail(transport, { from: senderFor(config, notification), to: recipient, notification });
        } catch (e) {
          throw new DeliveryError(`mail to ${recipient} via ${config.smtp.host}:${config.smtp.port} failed: ${(e as Error).message}`, { cause: e });
        }
      },
    }));
    deps.log.debug({ recipients: targets.length, smtp: `${config.smtp.host}:${config.smtp.port}` }, 'e-mail channel ready');
    return {
      name: 'email',
      targets,
      close: async () => {
        transport.close();
      },
    };
  },
});
