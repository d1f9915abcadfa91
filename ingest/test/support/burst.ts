import type { StandardMessage } from '../../src/pipeline/message.js';
import type { SiteLayout } from '../../tools/site-layout.js';

/**
 * The 1,000-reading burst used by the broker-restart tests: each area's permit set first, then
 * readings 100 ms apart, round-robin over the areas, with three hard-rule incidents (flammable gas
 * in tank-farm at readings 99 and 900, low oxygen in reactor-3 at 502).
 */
export function burstMessages(layout: SiteLayout, t0: number): StandardMessage[] {
  const areas = layout.areas;
  const messages: StandardMessage[] = [];
  for (const area of areas) {
    messages.push({
      v: 1,
      kind: 'permits',
      messageId: `burst-permits-${area.areaId}`,
      siteId: layout.siteId,
      areaId: area.areaId,
      deviceId: layout.gatewayDeviceId,
      observedAt: t0,
      permits: { active: [{ permitId: area.permitId, type: area.permitType }] },
    });
  }
  for (let i = 0; i < 1000; i++) {
    const area = areas[i % areas.length]!;
    const reading = { flammableLelPct: 1, flammableGasLelVolPct: area.gasLelVolPct, o2VolPct: 20.9, windMs: 2 };
    if (area.areaId === 'tank-farm' && (i === 99 || i === 900)) reading.flammableLelPct = 15;
    if (area.areaId === 'reactor-3' && i === 502) reading.o2VolPct = 18;
    messages.push({
      v: 1,
      kind: 'env',
      messageId: `burst-${i}`,
      siteId: layout.siteId,
      areaId: area.areaId,
      deviceId: area.gasDeviceId,
      observedAt: t0 + i * 100,
      reading,
    });
  }
  return messages;
}

/** A raw standard environment reading from a tank-farm device, `n` seconds after `t0`. */
export const tankFarmReading = (t0: number, deviceId: string, n: number, r: object) =>
  Buffer.from(
    JSON.stringify({
      v: 1,
      kind: 'env',
      messageId: `${deviceId}-${n}`,
      siteId: 'site-1',
      areaId: 'tank-farm',
      deviceId,
      observedAt: t0 + n * 1000,
      reading: r,
    }),
  );

/** The site gateway's message that permit P-<area> of `type` is active in an area of site-1. */
export function permitsMessage(areaId: string, type: string, at: number): StandardMessage {
  const active = [{ permitId: `P-${areaId}`, type }];
  return {
    v: 1,
    kind: 'permits',
    messageId: `p-${areaId}-${at}`,
    siteId: 'site-1',
    areaId,
    deviceId: 'gw-site-1',
    observedAt: at,
    permits: { active },
  } as StandardMessage;
}
