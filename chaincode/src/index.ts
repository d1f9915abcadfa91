import { HeartbeatContract } from './heartbeat-contract';

export { HeartbeatContract };

// fabric-chaincode-node looks for `contracts` on the package's main module.
export const contracts: (typeof HeartbeatContract)[] = [HeartbeatContract];
