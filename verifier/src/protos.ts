/**
 * Fabric's protobuf messages, imported file by file: the package's index also loads its gRPC
 * service stubs (and @grpc/grpc-js with them), which neither a browser nor an offline verifier wants.
 */
import commonPb from '@hyperledger/fabric-protos/lib/common/common_pb.js';
import configtxPb from '@hyperledger/fabric-protos/lib/common/configtx_pb.js';
import configurationPb from '@hyperledger/fabric-protos/lib/common/configuration_pb.js';
import policiesPb from '@hyperledger/fabric-protos/lib/common/policies_pb.js';
import kvrwsetPb from '@hyperledger/fabric-protos/lib/ledger/rwset/kvrwset/kv_rwset_pb.js';
import rwsetPb from '@hyperledger/fabric-protos/lib/ledger/rwset/rwset_pb.js';
import identitiesPb from '@hyperledger/fabric-protos/lib/msp/identities_pb.js';
import mspConfigPb from '@hyperledger/fabric-protos/lib/msp/msp_config_pb.js';
import mspPrincipalPb from '@hyperledger/fabric-protos/lib/msp/msp_principal_pb.js';
import chaincodeEventPb from '@hyperledger/fabric-protos/lib/peer/chaincode_event_pb.js';
import chaincodePb from '@hyperledger/fabric-protos/lib/peer/chaincode_pb.js';
import chaincodeDefinitionPb from '@hyperledger/fabric-protos/lib/peer/lifecycle/chaincode_definition_pb.js';
import lifecycleDbPb from '@hyperledger/fabric-protos/lib/peer/lifecycle/db_pb.js';
import peerPolicyPb from '@hyperledger/fabric-protos/lib/peer/policy_pb.js';
import proposalPb from '@hyperledger/fabric-protos/lib/peer/proposal_pb.js';
import proposalResponsePb from '@hyperledger/fabric-protos/lib/peer/proposal_response_pb.js';
import transactionPb from '@hyperledger/fabric-protos/lib/peer/transaction_pb.js';

export const common = { ...commonPb, ...configtxPb, ...configurationPb, ...policiesPb };
export const msp = { ...identitiesPb, ...mspConfigPb, ...mspPrincipalPb };
export const peer = { ...transactionPb, ...proposalPb, ...proposalResponsePb, ...chaincodePb, ...chaincodeEventPb, ...peerPolicyPb };
export const rwset = { ...rwsetPb, ...kvrwsetPb };
export const lifecycle = { ...lifecycleDbPb, ...chaincodeDefinitionPb };
