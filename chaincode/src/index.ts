import { AlarmContract } from './alarm-contract';
import { CredentialContract } from './credential-contract';
import { DeviceContract } from './device-contract';
import { EvidenceContract } from './evidence-contract';
import { HeartbeatContract } from './heartbeat-contract';
import { PermitContract } from './permit-contract';
import { rememberParsedCertificates, skipDisabledLogLevels } from './shim-tuning';
import { TemplateContract } from './template-contract';

skipDisabledLogLevels();
rememberParsedCertificates();

export { AlarmContract, CredentialContract, DeviceContract, EvidenceContract, HeartbeatContract, PermitContract, TemplateContract };

// fabric-chaincode-node looks for `contracts` on the package's main module.
export const contracts = [HeartbeatContract, TemplateContract, PermitContract, CredentialContract, EvidenceContract, DeviceContract, AlarmContract];
