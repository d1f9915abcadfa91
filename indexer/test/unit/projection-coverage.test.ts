/**
 * Compile-time guard (checked by `npx tsc -p tsconfig.test.json`): every event type the schema
 * declares has a projector, and every projector names a declared type. When the chaincode adds an
 * event type to schema/src/events.ts this file stops compiling until projection.ts handles it.
 */
import { expect } from 'chai';
import type { LedgerEventType } from '@compliance-ledger/schema';
import { projectors, type ProjectedEventType } from '../../src/projection.js';

type Unprojected = Exclude<LedgerEventType, ProjectedEventType>;
type Undeclared = Exclude<ProjectedEventType, LedgerEventType>;
const everyTypeProjected: [Unprojected] extends [never] ? true : Unprojected = true;
const noUnknownProjector: [Undeclared] extends [never] ? true : Undeclared = true;

describe('projection coverage of the schema event types (unit, compile time)', () => {
  it('has one projector per declared event type', () => {
    expect(everyTypeProjected && noUnknownProjector).to.equal(true);
    expect(Object.keys(projectors).length).to.be.greaterThan(20);
  });
});
