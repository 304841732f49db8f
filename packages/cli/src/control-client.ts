import { connect, type NatsConnection } from '@nats-io/transport-node';
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
} from '@portcullis/shared/client';

/**
 * Sends one control request to the banner of the running stack and returns its reply. The stack is
 * found like every command finds it: configured URLs, else the state directory's runtime file.
 */
export async function controlRequest(config: PortcullisConfig, stateDir: string, req: ControlRequestV1, timeoutMs = 30_000): Promise<ControlReplyV1> {
  const [reply] = await controlRequests(config, stateDir, [req], timeoutMs);
  return reply!;
}

/**
 * Several control requests over one connection, all sent at once (the banner handles them side by
 * side); the replies in request order.
 */
export async function controlRequests(config: PortcullisConfig, stateDir: string, reqs: readonly ControlRequestV1[], timeoutMs = 30_000): Promise<ControlReplyV1[]> {
  const { natsUrl } = resolveEndpoints(config.settings, stateDir);
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: natsUrl, name: 'portcullis-cli', timeout: 3_000 });
  } catch (e) {
    throw new PortcullisError('PC_STACK_NOT_RUNNING', `cannot reach NATS at ${natsUrl}: ${describeError(e)}`, { cause: e });
  }
  try {
    const replies: Promise<ControlReplyV1>[] = [];
    for (const req of reqs) {
      const reply = requestOn(nc, req, timeoutMs);
      // handled by Promise.all below; a rejection while the rest is still being sent is not unhandled
      reply.catch(() => undefined);
      replies.push(reply);
      // out before the next one is encoded, so the banner starts on it meanwhile
      await new Promise((r) => setImmediate(r));
    }
    return await Promise.all(replies);
  } finally {
    await nc.close();
  }
}

async function requestOn(nc: NatsConnection, req: ControlRequestV1, timeoutMs: number): Promise<ControlReplyV1> {
  try {
    const msg = await nc.request(SUBJECTS.control, encodeMessage(CONTRACTS.controlRequest, req), { timeout: timeoutMs });
    return decodeMessage(CONTRACTS.controlReply, msg.data);
  } catch (e) {
    if (e instanceof PortcullisError) throw e;
    const text = describeError(e);
    if (/no responders/i.test(text)) throw new PortcullisError('PC_STACK_NOT_RUNNING', 'no banner is answering on the bus (is Portcullis running?)', { cause: e });
    throw new PortcullisError('PC_TIMEOUT', `control request failed: ${text}`, { cause: e });
  }
}
