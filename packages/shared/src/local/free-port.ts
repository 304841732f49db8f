import { createServer } from 'node:net';
import { PortcullisError } from '../errors.js';

/**
 * A TCP port that was free on `host` a moment ago (the kernel picks it). Another process can still
 * take it before the caller binds, so launchers that use it retry on "address in use".
 */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (cause) => {
      reject(new PortcullisError('PC_LOCAL_SERVER', `cannot find a free TCP port on ${host}: ${cause.message}`, { cause }));
    });
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() => {
        if (port === undefined) {
          reject(new PortcullisError('PC_LOCAL_SERVER', `cannot find a free TCP port on ${host}: no address was assigned`));
        } else {
          resolve(port);
        }
      });
    });
  });
}
