/**
 * A test gateway in a process of its own, started by a benchmark with `fork`, so that its CPU is
 * measured apart from the bench client's. The gateway's environment comes as JSON in argv[2]; the
 * URL goes back over IPC; the parent's `close` message (or its exit) stops it.
 */
import { startTestGateway } from '../test/support/env.js';

const env = JSON.parse(process.argv[2] ?? '{}') as Record<string, string>;
const gw = await startTestGateway(env);
const stop = async () => {
  await gw.close();
  process.exit(0);
};
process.on('message', (m) => {
  if (m === 'close') void stop();
});
process.on('disconnect', () => void stop());
process.send?.({ url: gw.url, walletDir: gw.services.config.GATEWAY_WALLET_DIR, caClient: gw.services.config.FABRIC_CA_CLIENT });
