export { verifyBundle, verifyOrdererSignature, EXIT, type Check, type Report, type Trust } from './verify.js';
export { channelConfig, type ChannelConfig } from './msp.js';
export { readBundle, BUNDLE_FORMAT, BUNDLE_VERSION, type Bundle, type BundleSubject, type HeaderEntry, type Manifest, type ManifestRecord } from './bundle.js';
export { readTar, writeTar } from './tar.js';
export { decodeBlock, headerHash, dataHash, headerBytes, HEADER_TYPE, type BlockHeader, type DecodedBlock, type TransactionEntry, type Write } from './block.js';
export { computeCid } from './cid.js';
export { toHex, fromHex } from './bytes.js';
