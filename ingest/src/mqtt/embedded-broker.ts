import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';

/**
 * The in-process broker used when no broker URL is configured (a single edge box, a demo).
 * Its sessions live in memory: a restart of the service loses what the broker had queued, which
 * is why production points INGEST_MQTT_URL at a real broker with persistence.
 * aedes speaks MQTT 3.1.1 only; clients must use protocolVersion 4.
 */
export async function startEmbeddedBroker(host: string, port: number): Promise<{ url: string; close(): Promise<void> }> {
  const broker = await Aedes.createBroker();
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `mqtt://${host}:${actual}`,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
