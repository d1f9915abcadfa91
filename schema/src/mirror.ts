/**
 * The PostgreSQL notification channel on which the indexer announces each committed batch (payload:
 * the newest mirrored block), so readers of the mirror such as the gateway's live alarm stream can
 * wake on it instead of waiting for their next poll.
 */
export const MIRROR_NOTIFY_CHANNEL = 'ledger_mirror';
