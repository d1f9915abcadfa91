// scanCode (reading a code from a camera frame) is the subpath '@compliance-ledger/gate-verifier/scan':
// its QR decoder costs a process about 12 MiB resident, which the gateway, which issues and checks
// codes but never scans a frame, should not carry.
export * from './code.js';
export * from './gate-check.js';
export * from './issue.js';
export * from './office-key.js';
export * from './qr.js';
export * from './snapshot.js';
export * from './verify.js';
