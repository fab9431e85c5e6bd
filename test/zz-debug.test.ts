import { it } from 'vitest';
import { runAction } from './support/action.js';
import { startServerCluster } from './support/server-cluster.js';
it('debug', async () => {
  const c = await startServerCluster();
  const r = await runAction({
    storage: '/tmp/dbg-store2',
    name: 'x',
    'database-url': c.url,
    databases: 'all',
    jobs: '3',
  });
  console.log(r.stdout, r.stderr, r.summary, JSON.stringify(r.outputs).slice(0, 600));
  await c.stop();
}, 60000);
