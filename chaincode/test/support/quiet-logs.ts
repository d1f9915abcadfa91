// Test-only: fabric-contract-api logs every decorator at info level when loaded.
process.env.CORE_CHAINCODE_LOGGING_LEVEL ??= 'warning';

export {};
