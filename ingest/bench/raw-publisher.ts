/**
 * A load publisher for the live MQTT benchmark: MQTT 3.1.1 PUBLISH packets (QoS 1) encoded before
 * the clock starts and written to one TCP socket, up to `window` unacknowledged, counting the
 * broker's PUBACKs. mqtt.js spends tens of µs per publish; on the core it shares with the broker
 * that made the publisher, not ingest, the limit of the live figures (bench/RESULTS.md, issue 18
 * point 5). Benchmark tooling only: no reconnect, no TLS, no QoS 2.
 */
import { connect, type Socket } from 'node:net';

/** The remaining-length field: 7 bits a byte, least significant first, high bit = more. */
function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

function utf8Field(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function connectPacket(clientId: string): Buffer {
  // Protocol name "MQTT", level 4 (3.1.1), flags: clean session; keep-alive 60 s.
  const variable = Buffer.concat([utf8Field('MQTT'), Buffer.from([4, 0x02, 0, 60])]);
  const body = Buffer.concat([variable, utf8Field(clientId)]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

/** PUBLISH, QoS 1 (fixed header 0x32), with its packet id. */
function publishPacket(topic: string, payload: string, packetId: number): Buffer {
  const id = Buffer.alloc(2);
  id.writeUInt16BE(packetId);
  const body = Buffer.concat([utf8Field(topic), id, Buffer.from(payload, 'utf8')]);
  return Buffer.concat([Buffer.from([0x32]), remainingLength(body.length), body]);
}

/**
 * Publishes every message once (QoS 1) and resolves, when the broker acknowledged them all, with
 * the milliseconds from the first write to the last PUBACK. Packet ids run 1…65535 and wrap;
 * `window` (≤ 65,535) bounds those unacknowledged, so none is reused while in flight.
 */
export async function publishRaw(url: string, clientId: string, messages: readonly { topic: string; payload: string }[], window = 10_000): Promise<number> {
  const { hostname, port } = new URL(url);
  const packets = messages.map((m, i) => publishPacket(m.topic, m.payload, (i % 65_535) + 1));
  const socket: Socket = connect(Number(port || 1883), hostname);
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let pending: Buffer = Buffer.alloc(0);
  let connacked = false;
  let acked = 0;
  let wake: () => void = () => {};
  let failure: Error | undefined;
  socket.on('error', (e) => {
    failure = e;
    wake();
  });
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    // The broker sends only CONNACK (0x20, 2 bytes) and PUBACK (0x40, 2 bytes) to a publisher.
    while (pending.length >= 4) {
      const type = pending[0]! >> 4;
      if (type === 2) {
        if (pending[3] !== 0) failure = new Error(`the broker refused the connection (CONNACK code ${pending[3]})`);
        connacked = true;
      } else if (type === 4) acked++;
      else failure = new Error(`unexpected MQTT packet type ${type} from the broker`);
      pending = pending.subarray(4);
    }
    wake();
  });
  const until = async (done: () => boolean) => {
    while (!done()) {
      if (failure) throw failure;
      await new Promise<void>((r) => (wake = r));
    }
    if (failure) throw failure;
  };
  socket.write(connectPacket(clientId));
  await until(() => connacked);
  const t0 = performance.now();
  let sent = 0;
  while (sent < packets.length) {
    await until(() => sent - acked < window);
    const upTo = Math.min(packets.length, acked + window);
    const chunk = Buffer.concat(packets.slice(sent, upTo));
    sent = upTo;
    if (!socket.write(chunk)) await new Promise<void>((r) => socket.once('drain', r));
  }
  await until(() => acked >= packets.length);
  const ms = performance.now() - t0;
  socket.end(Buffer.from([0xe0, 0x00])); // DISCONNECT
  return ms;
}
