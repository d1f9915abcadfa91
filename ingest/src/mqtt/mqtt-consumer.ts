import { connect, type MqttClient } from 'mqtt';
import type { Logger } from '../logger.js';

export interface ConsumerOptions {
  url: string;
  clientId: string;
  username?: string | undefined;
  password?: string | undefined;
  filter: string;
  /** Must resolve only once the message is durably handled (outbox or dead-letter store). */
  handle(topic: string, payload: Buffer): Promise<void>;
  log: Logger;
}

// Far below the broker's redelivery concerns and its in-flight window at the rates seen
// (Mosquitto's default window of 20 messages lasts > 1 ms at 15,000 messages/s).
const ACK_COALESCE_MS = 1;

/**
 * Subscribes with QoS 1 on a persistent session (clean: false, fixed client id), so the broker
 * queues messages while this service is away. The PUBACK for a message is sent only after
 * `handle` resolved: a crash before that makes the broker deliver the message again. mqtt.js
 * takes the next packet only after the previous one was acknowledged, which also keeps
 * acknowledgements in the order MQTT 3.1.1 requires.
 */
export class MqttConsumer {
  private readonly client: MqttClient;
  private subscribed: Promise<void>;
  private markSubscribed!: () => void;
  private closing = false;
  private acksHeld = false;

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
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      this.handleUntilDone(packet.topic, payload).then(() => {
        this.coalesceAcks();
        callback();
      }, callback);
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

  /**
   * Holds the socket's writes for ACK_COALESCE_MS, so that the PUBACKs of the messages handled
   * meanwhile leave in one write: one system call per PUBACK was the largest cost of a
   * single-reading message after inference. An acknowledgement is only ever sent late, never
   * early (the message is durable before its PUBACK is queued), and in order (one stream).
   */
  private coalesceAcks(): void {
    if (this.acksHeld) return;
    const stream = this.client.stream;
    stream.cork();
    this.acksHeld = true;
    setTimeout(() => {
      this.acksHeld = false;
      stream.uncork();
    }, ACK_COALESCE_MS);
  }

  /** Resolves once the subscription is in place (on the first connection). */
  ready(): Promise<void> {
    return this.subscribed;
  }

  get connected(): boolean {
    return this.client.connected;
  }

  // A failure here is local (disk full, a bug), never the message's fault: invalid messages go
  // to the dead-letter store inside `handle`. Retrying rather than acknowledging loses nothing.
  private async handleUntilDone(topic: string, payload: Buffer): Promise<void> {
    let delay = 100;
    for (;;) {
      try {
        await this.options.handle(topic, payload);
        return;
      } catch (err) {
        if (this.closing) throw err;
        this.options.log.error({ err, topic }, 'handling failed; retrying before acknowledging');
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.client.endAsync();
  }
}
