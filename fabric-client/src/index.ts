export * from './client.js';
export * from './connection-profile.js';
export * from './errors.js';
export * from './gateway.js';
export * from './identity.js';
export * from './signer.js';
export * from './submit.js';
export * from './validation-codes.js';
