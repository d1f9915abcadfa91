// Child process for the restart test: enqueues alarms and prints each id once its enqueue was
// acknowledged (durable). The parent kills it with SIGKILL part-way through.
import { Outbox } from '../../src/outbox/outbox.js';
import { sampleAlarm } from './alarms.js';

const [dir, count] = process.argv.slice(2);
const outbox = await Outbox.open(dir!);
for (let i = 0; i < Number(count); i++) {
  const alarm = await sampleAlarm(i);
  await outbox.enqueue(alarm);
  process.stdout.write(`${alarm.fields.alarmId}\n`);
}
await outbox.close();
