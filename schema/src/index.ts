export * from './organizations';
export * from './alarm-signature';
export * from './heartbeat';
export * from './events';
