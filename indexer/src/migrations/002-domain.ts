/**
 * Domain tables projected from the chaincode events, shaped for the regulator's questions: which
 * permits of an org, site, area, type or level are in which state, since when; which alarms of
 * which grade; which gas tests failed. Actors are reduced to their MSP (and role where useful):
 * certificate subjects can name people, and personal data never leaves the private collections.
 */
import type { Knex } from 'knex';

export const name = '002-domain';

/** Columns every projected row has: where it last changed on the ledger. */
function provenance(t: Knex.CreateTableBuilder): void {
  t.bigInteger('block_number').notNullable();
  t.text('tx_id').notNullable();
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('heartbeats', (t) => {
    t.text('id').primary();
    t.text('org_msp').notNullable();
    t.text('note').notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    provenance(t);
    t.index(['org_msp', 'recorded_at']);
  });

  await knex.schema.createTable('permits', (t) => {
    t.text('permit_no').primary();
    t.text('org_msp').notNullable();
    t.text('operation_type').notNullable();
    t.text('level').notNullable();
    t.text('requested_level').notNullable();
    t.text('status').notNullable();
    t.text('site_id').notNullable();
    t.text('zone_id').notNullable();
    t.text('work_unit').notNullable();
    t.boolean('fire_explosion_zone').notNullable();
    t.boolean('night_or_holiday').notNullable();
    t.timestamp('planned_start', { useTz: true }).notNullable();
    t.timestamp('planned_end', { useTz: true }).notNullable();
    t.timestamp('valid_from', { useTz: true });
    t.timestamp('valid_until', { useTz: true });
    t.text('suspension_reason');
    t.text('suspension_alarm_id');
    t.integer('template_version').notNullable();
    t.timestamp('applied_at', { useTz: true }).notNullable();
    t.timestamp('status_changed_at', { useTz: true }).notNullable();
    t.jsonb('record').notNullable();
    provenance(t);
    t.index(['org_msp', 'status']);
    t.index(['site_id', 'zone_id', 'status']);
    t.index(['operation_type', 'level', 'status']);
    t.index(['status', 'status_changed_at']);
    t.index(['planned_start']);
  });

  await knex.schema.createTable('permit_steps', (t) => {
    t.text('permit_no').notNullable();
    // Position in the permit's history: the history only grows, so (permit, position) is stable.
    t.integer('step_index').notNullable();
    t.text('action').notNullable();
    t.text('from_status');
    t.text('to_status').notNullable();
    t.text('actor_msp').notNullable();
    t.text('actor_role').notNullable();
    t.timestamp('at', { useTz: true }).notNullable();
    t.text('tx_id').notNullable();
    t.bigInteger('block_number').notNullable();
    t.primary(['permit_no', 'step_index']);
    t.index(['action', 'at']);
    t.index(['actor_msp', 'at']);
  });

  await knex.schema.createTable('sign_offs', (t) => {
    t.text('permit_no').notNullable();
    t.text('step_id').notNullable();
    t.text('tx_id').notNullable();
    t.text('actor_msp').notNullable();
    t.text('actor_role').notNullable();
    t.text('actor_department');
    t.boolean('at_site').notNullable();
    t.text('opinion').notNullable();
    t.timestamp('at', { useTz: true }).notNullable();
    t.bigInteger('block_number').notNullable();
    t.primary(['permit_no', 'step_id', 'tx_id']);
    t.index(['actor_msp', 'at']);
  });

  await knex.schema.createTable('gas_tests', (t) => {
    t.text('test_id').primary();
    t.text('permit_no').notNullable();
    t.text('lel_class').notNullable();
    t.double('flammable_vol_pct').notNullable();
    t.double('oxygen_vol_pct');
    t.jsonb('toxic').notNullable();
    t.boolean('passed').notNullable();
    t.jsonb('failures').notNullable();
    t.timestamp('sample_taken_at', { useTz: true }).notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.text('analyst_msp').notNullable();
    provenance(t);
    t.index(['permit_no', 'recorded_at']);
    t.index(['passed', 'recorded_at']);
  });

  await knex.schema.createTable('workers', (t) => {
    // Pseudonymous id only; names and ID numbers live in private collections.
    t.text('worker_id').primary();
    t.text('status').notNullable();
    t.text('registered_by_msp').notNullable();
    t.timestamp('registered_at', { useTz: true }).notNullable();
    provenance(t);
    t.index(['registered_by_msp', 'status']);
  });

  await knex.schema.createTable('certificates', (t) => {
    // No certificate number (it can equal a national ID number) and no scan: the hash only.
    t.text('certificate_id').primary();
    t.text('worker_id').notNullable();
    t.text('category').notNullable();
    t.text('item').notNullable();
    t.text('authority').notNullable();
    t.timestamp('valid_from', { useTz: true }).notNullable();
    t.timestamp('valid_until', { useTz: true }).notNullable();
    t.timestamp('review_due', { useTz: true }).notNullable();
    t.text('status').notNullable();
    t.text('scan_sha256').notNullable();
    t.text('added_by_msp').notNullable();
    t.timestamp('added_at', { useTz: true }).notNullable();
    provenance(t);
    t.index(['worker_id']);
    t.index(['category', 'status', 'valid_until']);
    t.index(['review_due']);
  });

  await knex.schema.createTable('gate_checks', (t) => {
    t.text('gate_check_id').primary();
    t.text('permit_no').notNullable();
    t.text('worker_id').notNullable();
    t.timestamp('at', { useTz: true }).notNullable();
    t.boolean('passed').notNullable();
    t.boolean('qr_passed').notNullable();
    t.boolean('face_passed').notNullable();
    t.integer('face_score_bp').notNullable();
    t.text('face_device_id').notNullable();
    t.boolean('certificate_passed').notNullable();
    t.text('certificate_reason').notNullable();
    t.boolean('health_passed').notNullable();
    t.text('recorded_by_msp').notNullable();
    provenance(t);
    t.index(['permit_no', 'at']);
    t.index(['passed', 'at']);
  });

  await knex.schema.createTable('evidence', (t) => {
    t.text('permit_no').notNullable();
    t.text('step').notNullable();
    t.text('cid').notNullable();
    t.text('sha256').notNullable();
    t.bigInteger('size_bytes').notNullable();
    t.text('media_type').notNullable();
    t.timestamp('captured_at', { useTz: true }).notNullable();
    t.text('device_id');
    t.text('recorded_by_msp').notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    provenance(t);
    t.primary(['permit_no', 'step', 'cid']);
    t.index(['recorded_at']);
    t.index(['device_id']);
  });

  await knex.schema.createTable('devices', (t) => {
    t.text('device_id').primary();
    t.text('owner_msp').notNullable();
    t.text('site_id').notNullable();
    t.text('area_id').notNullable();
    t.text('address').notNullable();
    t.text('kind').notNullable();
    t.text('status').notNullable();
    t.timestamp('registered_at', { useTz: true }).notNullable();
    provenance(t);
    t.index(['owner_msp', 'status']);
    t.index(['site_id', 'area_id', 'kind']);
  });

  await knex.schema.createTable('alarms', (t) => {
    t.text('alarm_id').primary();
    t.text('device_id').notNullable();
    t.text('device_kind').notNullable();
    t.text('site_id').notNullable();
    t.text('area_id').notNullable();
    t.smallint('grade').notNullable();
    t.text('kind').notNullable();
    t.integer('score_bp').notNullable();
    t.text('model_version').notNullable();
    t.text('status').notNullable();
    t.timestamp('observed_at', { useTz: true }).notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.text('recorded_by_msp').notNullable();
    t.timestamp('acknowledged_at', { useTz: true });
    t.bigInteger('response_ms');
    t.timestamp('closed_at', { useTz: true });
    t.text('review_verdict');
    t.jsonb('suspended_permit_nos').notNullable();
    t.jsonb('record').notNullable();
    provenance(t);
    t.index(['site_id', 'area_id', 'recorded_at']);
    t.index(['grade', 'status', 'recorded_at']);
    t.index(['kind', 'recorded_at']);
    t.index(['recorded_by_msp', 'recorded_at']);
  });

  await knex.schema.createTable('investigation_flags', (t) => {
    t.text('flag_id').primary();
    t.text('permit_no').notNullable();
    t.text('reason').notNullable();
    t.text('flagged_by_msp').notNullable();
    t.timestamp('at', { useTz: true }).notNullable();
    provenance(t);
    t.index(['permit_no']);
  });

  await knex.schema.createTable('personal_data_accesses', (t) => {
    t.text('access_id').primary();
    t.text('subject_kind').notNullable();
    t.text('subject_id').notNullable();
    t.text('purpose').notNullable();
    t.text('accessor_msp').notNullable();
    t.text('accessor_role').notNullable();
    t.timestamp('at', { useTz: true }).notNullable();
    provenance(t);
    t.index(['subject_kind', 'subject_id', 'at']);
    t.index(['accessor_msp', 'at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'personal_data_accesses',
    'investigation_flags',
    'alarms',
    'devices',
    'evidence',
    'gate_checks',
    'certificates',
    'workers',
    'gas_tests',
    'sign_offs',
    'permit_steps',
    'permits',
    'heartbeats',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
