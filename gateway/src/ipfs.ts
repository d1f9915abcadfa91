// The content store is shared with ingest (camera clips); gateway modules keep importing it from here.
export * from '@compliance-ledger/content-store';
