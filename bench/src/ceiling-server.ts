// The HTTP ceiling of the ingest benchmark: a bare Fastify server, in its own process like `aevon serve`, whose
// POST routes parse the JSON body (Fastify's default parser) and answer 202 {"status":"accepted"}, storing nothing.
// Loaded with the same client, bodies and concurrency as the real server, it measures what HTTP and JSON parsing
// alone cost on this machine. Prints `listening on <url>`, and exits 0 on SIGTERM.
import Fastify from 'fastify';

const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
let received = 0;
for (const url of ['/v1/events', '/v1/events/batch']) {
  app.post(url, async (request, reply) => {
    // Touch the parsed body, so that nothing of the parse can be skipped.
    received += Array.isArray(request.body) ? request.body.length : 1;
    return reply.code(202).send({ status: 'accepted' });
  });
}
app.get('/health', async () => ({ status: 'ok', received }));

const address = await app.listen({ host: '127.0.0.1', port: 0 });
console.log(`listening on ${address}`);
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
