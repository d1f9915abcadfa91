/**
 * Topic layout, version 1:
 *
 *   ledger/v1/{siteId}/{areaId}/{deviceId}/env            environment reading (standard payload)
 *   ledger/v1/{siteId}/{areaId}/{deviceId}/ai             AI detection (standard payload)
 *   ledger/v1/{siteId}/{areaId}/{deviceId}/permits        permits active in the area (standard)
 *   ledger/v1/{siteId}/{areaId}/{deviceId}/raw/{vendor}   a vendor's own payload, mapped by an adapter
 *   ledger/v1/{siteId}/{deviceId}/batch                   batch envelope: many standard messages of the
 *                                                         site, published by its edge gateway {deviceId}
 *
 * The batch topic has one level fewer than a device's, so no device topic can be read as one.
 * It names no area because a site's gateway collects every area of the site; the broker's ACL
 * on this topic is what lets the gateway speak for the site's devices.
 *
 * The version sits in the topic so that a v2 layout can run beside v1 during a migration, with
 * its own subscription. Segments are plain identifiers: MQTT wildcards and separators are refused.
 */
export const TOPIC_VERSION = 'v1';
export const CHANNELS = ['env', 'ai', 'permits'] as const;
export type Channel = (typeof CHANNELS)[number];

// Starts with a letter or digit, like the ledger's ids, so every topic id is a valid ledger id.
export const IDENTIFIER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SEGMENT = IDENTIFIER_PATTERN;

export interface TopicAddress {
  siteId: string;
  areaId: string;
  deviceId: string;
  channel: Channel | 'raw';
  /** Present when channel is 'raw'. */
  vendor?: string;
}

/** The topic of a batch envelope: the site and the gateway that publishes it. */
export interface BatchTopicAddress {
  siteId: string;
  deviceId: string;
  channel: 'batch';
}

export function isIdentifier(value: string): boolean {
  return SEGMENT.test(value);
}

export function subscriptionFilter(root: string): string {
  return `${root}/${TOPIC_VERSION}/#`;
}

export function topicFor(root: string, address: TopicAddress): string {
  for (const id of [address.siteId, address.areaId, address.deviceId]) {
    if (!isIdentifier(id)) throw new Error(`not a topic identifier: ${JSON.stringify(id)}`);
  }
  const base = `${root}/${TOPIC_VERSION}/${address.siteId}/${address.areaId}/${address.deviceId}`;
  if (address.channel === 'raw') {
    if (!address.vendor || !isIdentifier(address.vendor)) throw new Error('raw topics need a vendor');
    return `${base}/raw/${address.vendor}`;
  }
  return `${base}/${address.channel}`;
}

export function batchTopicFor(root: string, address: Omit<BatchTopicAddress, 'channel'>): string {
  for (const id of [address.siteId, address.deviceId]) {
    if (!isIdentifier(id)) throw new Error(`not a topic identifier: ${JSON.stringify(id)}`);
  }
  return `${root}/${TOPIC_VERSION}/${address.siteId}/${address.deviceId}/batch`;
}

/** Returns the address, or a reason why the topic is not part of the layout. */
export function parseTopic(root: string, topic: string): TopicAddress | BatchTopicAddress | { error: string } {
  const prefix = `${root}/`;
  if (!topic.startsWith(prefix)) return { error: `topic outside ${root}/` };
  const parts = topic.slice(prefix.length).split('/');
  const [version, siteId, areaId, deviceId, channel, vendor, ...rest] = parts;
  if (version !== TOPIC_VERSION) return { error: `unsupported topic version ${String(version)}` };
  if (parts.length === 4 && deviceId === 'batch') {
    // Here the third level is the gateway, not an area.
    if (!siteId || !areaId || ![siteId, areaId].every(isIdentifier)) return { error: 'topic identifiers malformed' };
    return { siteId, deviceId: areaId, channel: 'batch' };
  }
  if (!siteId || !areaId || !deviceId || !channel) return { error: 'topic has too few levels' };
  if (![siteId, areaId, deviceId].every(isIdentifier)) return { error: 'topic identifiers malformed' };
  if (channel === 'raw') {
    if (!vendor || rest.length > 0 || !isIdentifier(vendor)) return { error: 'raw topic needs exactly one vendor level' };
    return { siteId, areaId, deviceId, channel, vendor };
  }
  if (vendor !== undefined) return { error: 'topic has too many levels' };
  if (!(CHANNELS as readonly string[]).includes(channel)) return { error: `unknown channel ${channel}` };
  return { siteId, areaId, deviceId, channel: channel as Channel };
}
