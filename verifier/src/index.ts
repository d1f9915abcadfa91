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
export { BlobFile, type BlobSource, isBlobFile, openTarBlob, type SliceOf } from './blob-files.js';
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
  bundleOfFiles,
  type HeaderEntry,
  type Manifest,
  type ManifestRecord,
  readBundle,
  readBundleManifest,
} from './bundle.js';
export { fromHex, toHex } from './bytes.js';
export { CidBuilder, computeCid } from './cid.js';
export { type Digests, digestsOf, type FileContent, type IncrementalSha256, isEvidenceFile, isLargeFile, type LargeFile } from './content.js';
export { type ChannelConfig, channelConfig } from './msp.js';
export { Sha256 } from './sha256.js';
export { indexTar, readTar, type TarEntry, type TarFile, tarEnd, tarEntry, tarHeader, tarPadding, writeTar } from './tar.js';
export {
  type Check,
  EXIT,
  type OrdererSignedBlock,
  ordererSignedBlock,
  type Report,
  type SharedDecoding,
  type Trust,
  verifyBundle,
  verifyBundleBlob,
  verifyBundleBlobFiles,
  verifyBundleContents,
  verifyBundleFiles,
  verifyOrdererSignature,
} from './verify.js';
