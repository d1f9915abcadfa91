import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type MqttClient } from 'mqtt';
import type { Logger } from '../logger.js';
import { type Delivery, PartlyHandled } from '../pipeline/ingest-pipeline.js';

export interface ConsumerOptions {
  url: string;
  clientId: string;
  username?: string | undefined;
  password?: string | undefined;
  filter: string;
  /**
   * Handles messages in their order and resolves only once all are durably handled (outbox or
   * dead-letter store). A PartlyHandled rejection says how many of the first ones were.
   */
  handle(deliveries: readonly Delivery[]): Promise<void>;
  /** Most messages handed to `handle` at once; twice this many may wait unacknowledged. */
  maxBatch: number;
  log: Logger;
}

/** A received message until its PUBACK; `ackId` is undefined for QoS 0, which has none. */
interface Held extends Delivery {
  ackId: number | undefined;
  /** The connection it came on: an acknowledgement is only valid there. */
  stream: MqttClient['stream'];
}

/**
 * Passed to mqtt.js's message callback instead of letting it acknowledge: it then takes the next
 * packet without sending a PUBACK, and this consumer sends the PUBACK itself once the message is
 * durable (mqtt.js 5's QoS 1 path sends nothing for a callback given an error).
 */
const ACK_DEFERRED = new Error('acknowledged by the consumer once durable');

/** How long close() waits for the batch in hand. */
const CLOSE_WAIT_MS = 5_000;

/**
 * Subscribes with QoS 1 on a persistent session (clean: false, fixed client id), so the broker
 * queues messages while this service is away. The PUBACK for a message is sent only after
 * `handle` resolved for it: a crash before that makes the broker deliver the message again.
 *
 * mqtt.js acknowledges a message when its handler is done and only then takes the next, so a
 * single-reading message would be scored alone, and one inference call per reading was the
 * largest cost of such messages. Here messages are taken as they arrive and handed to `handle`
 * in batches (whatever arrived while the previous batch was handled, up to maxBatch), one batch at
 * a time; their PUBACKs leave in one write, in the order the messages came, as MQTT 3.1.1
 * requires. At most 2 × maxBatch messages wait unacknowledged: then mqtt.js is paused.
 */
export class MqttConsumer {
  private readonly client: MqttClient;
  private subscribed: Promise<void>;
  private markSubscribed!: () => void;
  private closing = false;
  private received: Held[] = [];
  private unacked = 0;
  private parked: (() => void) | undefined;
  private draining: Promise<void> | undefined;

  constructor(private readonly options: ConsumerOptions) {
    this.subscribed = new Promise((resolve) => (this.markSubscribed = resolve));
    this.client = connect(options.url, {
      protocolVersion: 4,
      clean: false,
      clientId: options.clientId,
      username: options.username,
      password: options.password,
      reconnectPeriod: 500,
      connectTimeout: 5_000,
      keepalive: 15,
    });
    this.client.handleMessage = (packet, callback) => {
      const next = () => callback(ACK_DEFERRED);
      // Not handled while closing: unacknowledged, the broker delivers it again to the next run.
      if (this.closing) return next();
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      this.received.push({ topic: packet.topic, payload, ackId: packet.qos > 0 ? packet.messageId : undefined, stream: this.client.stream });
      this.unacked += 1;
      if (this.unacked < 2 * options.maxBatch) next();
      else this.parked = next;
      // After the packets already parsed from the same read (mqtt.js takes them on next ticks).
      this.draining ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
    };
    this.client.on('connect', (connack) => {
      options.log.info({ sessionPresent: connack.sessionPresent }, 'mqtt connected');
      this.client.subscribe(options.filter, { qos: 1 }, (err) => {
        if (err) options.log.error({ err }, 'mqtt subscribe failed');
        else this.markSubscribed();
      });
    });
    this.client.on('offline', () => options.log.warn('mqtt offline, reconnecting'));
    this.client.on('error', (err) => options.log.warn({ err: err.message }, 'mqtt error'));
  }

  /** Resolves once the subscription is in place (on the first connection). */
  ready(): Promise<void> {
    return this.subscribed;
  }

  get connected(): boolean {
    return this.client.connected;
  }

  private async drain(): Promise<void> {
    try {
      while (this.received.length > 0 && !this.closing) {
        // A message of a connection that is gone will come again on the new one: skip it here.
        const current = this.client.stream;
        const taken = this.received.splice(0, this.options.maxBatch);
        const batch = taken.filter((h) => h.stream === current);
        this.settled(taken.length - batch.length);
        if (batch.length > 0) await this.handleUntilDone(batch);
      }
    } finally {
      this.draining = undefined;
    }
  }

  // A failure here is local (disk full, a bug), never the message's fault: invalid messages go
  // to the dead-letter store inside `handle`. Retrying rather than acknowledging loses nothing.
  private async handleUntilDone(batch: Held[]): Promise<void> {
    let delay = 100;
    let from = 0;
    for (;;) {
      try {
        await this.options.handle(from === 0 ? batch : batch.slice(from));
        this.acknowledge(batch, from, batch.length);
        return;
      } catch (err) {
        const handled = err instanceof PartlyHandled ? err.handled : 0;
        this.acknowledge(batch, from, from + handled);
        from += handled;
        if (this.closing) throw err;
        this.options.log.error({ err, topic: batch[from]?.topic }, 'handling failed; retrying before acknowledging');
        await sleep(delay);
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }

  /** PUBACKs of batch[from, to), in order and in one write, on the connection they came on if it is still open. */
  private acknowledge(batch: readonly Held[], from: number, to: number): void {
    if (to <= from) return;
    const stream = this.client.stream;
    if (this.client.connected && !stream.destroyed) {
      const acks = Buffer.allocUnsafe(4 * (to - from));
      let at = 0;
      for (let i = from; i < to; i++) {
        const h = batch[i]!;
        if (h.ackId === undefined || h.stream !== stream) continue;
        // PUBACK (MQTT 3.1.1 §3.4): type 4, remaining length 2, the packet identifier.
        acks[at] = 0x40;
        acks[at + 1] = 2;
        acks.writeUInt16BE(h.ackId, at + 2);
        at += 4;
      }
      if (at > 0) stream.write(at === acks.length ? acks : acks.subarray(0, at));
    }
    this.settled(to - from);
  }

  private settled(n: number): void {
    this.unacked -= n;
    if (this.parked && this.unacked < 2 * this.options.maxBatch) {
      const resume = this.parked;
      this.parked = undefined;
      resume();
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    // Messages not yet taken stay unacknowledged, and mqtt.js may take the next packet (dropped).
    this.received = [];
    const resume = this.parked;
    this.parked = undefined;
    resume?.();
    // The batch being handled may still become durable: its PUBACKs then go out before the
    // DISCONNECT. Bounded, so that a handler stuck on a local fault cannot hold the shutdown.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.draining?.catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
    await this.client.endAsync();
  }
}
