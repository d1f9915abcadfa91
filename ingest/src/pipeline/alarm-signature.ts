import { ALARM_EIP712_DOMAIN, ALARM_EIP712_TYPES, type SignedAlarmFields } from '@compliance-ledger/schema';
import { type BaseWallet, type TypedDataField, verifyTypedData } from 'ethers';

/** What goes to the ledger: the fields as signed and the device's EIP-712 signature. */
export interface SignedAlarm {
  fields: SignedAlarmFields;
  signature: string;
}

// ethers wants mutable arrays; the shared definitions are frozen `as const`.
const TYPES: Record<string, TypedDataField[]> = {
  Alarm: ALARM_EIP712_TYPES.Alarm.map((f) => ({ name: f.name, type: f.type })),
};
const DOMAIN = { ...ALARM_EIP712_DOMAIN };

export async function signAlarm(wallet: BaseWallet, fields: SignedAlarmFields): Promise<SignedAlarm> {
  return { fields, signature: await wallet.signTypedData(DOMAIN, TYPES, fields) };
}

/** The address that signed, as the chaincode recovers it. */
export function recoverAlarmSigner(alarm: SignedAlarm): string {
  return verifyTypedData(DOMAIN, TYPES, alarm.fields, alarm.signature);
}
