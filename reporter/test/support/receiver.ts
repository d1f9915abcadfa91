import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  answer: 'accepted' | 'duplicate' | 'error500' | 'no_answer';
}

/**
 * A real HTTP receiver, as a regulator would run it: `script` decides the fate of each request in
 * turn (then every later one is accepted); the accepted set is deduplicated by delivery id, as the
 * README tells receivers to do.
 */
export async function startReceiver(o: { script?: ('error500' | 'no_answer')[]; acceptDelayMs?: number } = {}) {
  const script = [...(o.script ?? [])];
  const received: Received[] = [];
  const accepted: { id: string; body: string }[] = [];
  const acceptedIds = new Set<string>();
  const hanging: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['x-ledger-delivery-id']);
      const fate = script.shift();
      if (fate === 'error500') {
        received.push({ headers: req.headers, body, answer: 'error500' });
        res.writeHead(500).end();
        return;
      }
      if (fate === 'no_answer') {
        received.push({ headers: req.headers, body, answer: 'no_answer' });
        hanging.push(() => res.destroy());
        return;
      }
      const accept = () => {
        const duplicate = acceptedIds.has(id);
        received.push({ headers: req.headers, body, answer: duplicate ? 'duplicate' : 'accepted' });
        if (!duplicate) {
          acceptedIds.add(id);
          accepted.push({ id, body });
        }
        res.writeHead(200).end();
      };
      if (o.acceptDelayMs) setTimeout(accept, o.acceptDelayMs);
      else accept();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ledger-events`,
    received,
    accepted,
    close: () =>
      new Promise<void>((r) => {
        for (const h of hanging) h();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export async function until(what: string, ok: () => boolean, deadlineMs = 120_000): Promise<void> {
  for (const end = Date.now() + deadlineMs; Date.now() < end; ) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`gave up waiting: ${what}`);
}
