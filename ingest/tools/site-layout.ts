import type { PermitType } from '../src/pipeline/vocabulary.js';

/**
 * A simulated site: areas with the operation going on in each, a multi-gas detector and a camera
 * per area, and one edge gateway that publishes the permit set. Device ids are what the key
 * file and the ledger's device registry use.
 */
export interface SimArea {
  areaId: string;
  permitType: PermitType;
  permitId: string;
  gasDeviceId: string;
  cameraDeviceId: string;
  /** Calibration gas LEL (% by volume) of the area's detector. */
  gasLelVolPct: number;
}

export interface SiteLayout {
  siteId: string;
  gatewayDeviceId: string;
  areas: SimArea[];
}

export function defaultLayout(siteId = 'site-1'): SiteLayout {
  const area = (areaId: string, permitType: PermitType, n: number, gasLelVolPct = 5): SimArea => ({
    areaId,
    permitType,
    permitId: `${siteId}-${permitType}-${n}`,
    gasDeviceId: `gas-${areaId}`,
    cameraDeviceId: `cam-${areaId}`,
    gasLelVolPct,
  });
  return {
    siteId,
    gatewayDeviceId: `gw-${siteId}`,
    areas: [area('tank-farm', 'hot_work', 1), area('reactor-3', 'confined_space', 2), area('pipe-rack', 'work_at_height', 3, 2.1)],
  };
}

export function layoutDeviceIds(layout: SiteLayout): string[] {
  return [layout.gatewayDeviceId, ...layout.areas.flatMap((a) => [a.gasDeviceId, a.cameraDeviceId])];
}
