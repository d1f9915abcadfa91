export {
  ARCHIVE_FORMAT,
  ARCHIVE_HEADERS,
  ARCHIVE_MANIFEST,
  ARCHIVE_VERSION,
  ARCHIVE_VERSIONS_READ,
  type ArchiveBundleFile,
  type ArchiveFile,
  type ArchiveFileResult,
  type ArchiveManifest,
  type ArchiveReport,
  type ArchiveSharedFile,
  blockPath,
  evidencePath,
  verifyArchive,
  verifyArchiveFiles,
} from './archive.js';
export {
  type BlockHeader,
  type BlockSignatures,
  type DecodedBlock,
  dataHash,
  decodeBlock,
  decodeBlockSignatures,
  HEADER_TYPE,
  headerBytes,
  headerHash,
  type TransactionEntry,
  type Write,
} from './block.js';
export {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  type Bundle,
  type BundleSubject,
  type HeaderEntry,
  type Manifest,
  type ManifestRecord,
  readBundle,
  readBundleManifest,
} from './bundle.js';
export { fromHex, toHex } from './bytes.js';
export { computeCid } from './cid.js';
export { type ChannelConfig, channelConfig } from './msp.js';
export { readTar, tarEnd, tarHeader, tarPadding, writeTar } from './tar.js';
export {
  type Check,
  EXIT,
  type OrdererSignedBlock,
  ordererSignedBlock,
  type Report,
  type SharedDecoding,
  type Trust,
  verifyBundle,
  verifyBundleContents,
  verifyOrdererSignature,
} from './verify.js';
