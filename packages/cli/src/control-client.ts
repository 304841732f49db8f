import { connect } from '@nats-io/transport-node';
import {
  CONTRACTS,
  decodeMessage,
  describeError,
  encodeMessage,
  PortcullisError,
  resolveEndpoints,
  SUBJECTS,
  type ControlReplyV1,
  type ControlRequestV1,
  type PortcullisConfig,
} from '@portcullis/shared';

/**
 * Sends one control request to the banner of the running stack and returns its reply. The stack is
 * found like every command finds it: configured URLs, else the state directory's runtime file.
 */
export async function controlRequest(config: PortcullisConfig, stateDir: string, req: ControlRequestV1, timeoutMs = 30_000): Promise<ControlReplyV1> {
  const { natsUrl } = resolveEndpoints(config.settings, stateDir);
  let nc;
  try {
    nc = await connect({ servers: natsUrl, name: 'portcullis-cli', timeout: 3_000 });
  } catch (e) {
    throw new PortcullisError('PC_STACK_NOT_RUNNING', `cannot reach NATS at ${natsUrl}: ${describeError(e)}`, { cause: e });
  }
  try {
    const msg = await nc.request(SUBJECTS.control, encodeMessage(CONTRACTS.controlRequest, req), { timeout: timeoutMs });
    return decodeMessage(CONTRACTS.controlReply, msg.data);
  } catch (e) {
    if (e instanceof PortcullisError) throw e;
    const text = describeError(e);
    if (/no responders/i.test(text)) throw new PortcullisError('PC_STACK_NOT_RUNNING', 'no banner is answering on the bus (is Portcullis running?)', { cause: e });
    throw new PortcullisError('PC_TIMEOUT', `control request failed: ${text}`, { cause: e });
  } finally {
    await nc.close();
  }
}
