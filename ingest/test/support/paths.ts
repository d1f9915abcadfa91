import { fileURLToPath } from 'node:url';

export const INGEST_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const MANIFEST_PATH = fileURLToPath(new URL('../../model/manifest.json', import.meta.url));
