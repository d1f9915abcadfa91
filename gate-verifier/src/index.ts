export * from './code.js';
export * from './gate-check.js';
export * from './issue.js';
export * from './office-key.js';
export * from './qr.js';
export * from './scan.js';
export * from './snapshot.js';
export * from './verify.js';
