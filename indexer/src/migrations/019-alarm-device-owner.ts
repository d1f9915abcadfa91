/**
 * Each alarm carries its device's owner (issue 18, point 6: the park's monthly report at 1,000,000
 * permits).
 *
 * The monthly report lists alarms per site under the enterprise that owns the device (not the
 * one whose service recorded it: the chaincode does not require the two to be one). It joined the
 * month's alarms to `devices` for that, and the planner hashed every device to join a few thousand
 * alarms: 4.6 ms of the park's report at p50, its largest statement (bench/RESULTS.md, 2026-12-06,
 * fourth evening session).
 *
 * - `alarms.device_owner_msp`: set from the device when the alarm's row is written (a device's
 *   owner is fixed at its registration: device:Register is the only writer of `ownerMsp`), and
 *   from the device's row when that arrives or its owner changes, so an alarm indexed before its
 *   device (not possible on one channel, where the chaincode refuses an unregistered device, but
 *   possible in a hand-restored mirror) reads as the join did: NULL until the device is there.
 * - `alarms_window_index` covers it, so a month's alarms per owner and site are one index range.
 */
import type { Knex } from 'knex';

export const name = '019-alarm-device-owner';

const WINDOW_INCLUDES = ['site_id', 'area_id', 'recorded_by_msp', 'device_id', 'grade', 'response_ms'];

export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE alarms ADD COLUMN device_owner_msp text');
  await knex.raw('UPDATE alarms a SET device_owner_msp = d.owner_msp FROM devices d WHERE d.device_id = a.device_id');
  await knex.raw(`
    CREATE FUNCTION alarm_device_owner() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      SELECT d.owner_msp INTO NEW.device_owner_msp FROM devices d WHERE d.device_id = NEW.device_id;
      RETURN NEW;
    END $$`);
  await knex.raw('CREATE TRIGGER alarm_device_owner BEFORE INSERT ON alarms FOR EACH ROW EXECUTE FUNCTION alarm_device_owner()');
  // A device's first row or a new owner reaches its alarms (by alarms_device_index); the indexer
  // rewrites a device's row on each of its events, which the WHEN lets through without a call.
  await knex.raw(`
    CREATE FUNCTION alarm_device_owner_of_device() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE alarms SET device_owner_msp = NEW.owner_msp
       WHERE device_id = NEW.device_id AND device_owner_msp IS DISTINCT FROM NEW.owner_msp;
      RETURN NULL;
    END $$`);
  await knex.raw('CREATE TRIGGER alarm_device_owner_of_new_device AFTER INSERT ON devices FOR EACH ROW EXECUTE FUNCTION alarm_device_owner_of_device()');
  await knex.raw(`CREATE TRIGGER alarm_device_owner_of_changed_device AFTER UPDATE ON devices
                    FOR EACH ROW WHEN (OLD.owner_msp IS DISTINCT FROM NEW.owner_msp OR OLD.device_id IS DISTINCT FROM NEW.device_id)
                    EXECUTE FUNCTION alarm_device_owner_of_device()`);
  await knex.raw('DROP INDEX alarms_window_index');
  await knex.raw(`CREATE INDEX alarms_window_index ON alarms (recorded_at) INCLUDE (${[...WINDOW_INCLUDES, 'device_owner_msp'].join(', ')})`);
  await knex.raw('ANALYZE alarms');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX alarms_window_index');
  await knex.raw(`CREATE INDEX alarms_window_index ON alarms (recorded_at) INCLUDE (${WINDOW_INCLUDES.join(', ')})`);
  await knex.raw('DROP TRIGGER alarm_device_owner_of_changed_device ON devices');
  await knex.raw('DROP TRIGGER alarm_device_owner_of_new_device ON devices');
  await knex.raw('DROP FUNCTION alarm_device_owner_of_device()');
  await knex.raw('DROP TRIGGER alarm_device_owner ON alarms');
  await knex.raw('DROP FUNCTION alarm_device_owner()');
  await knex.raw('ALTER TABLE alarms DROP COLUMN device_owner_msp');
}
