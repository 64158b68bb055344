// Runs the GraphQL-over-HTTP audit of the graphql-http package (serverAudits) against a running
// featuregraph server: node scripts/graphql-http-audit.mjs http://127.0.0.1:8080/graphql
// Prints one JSON line per audit and exits 1 when any audit is not "ok" (warnings included).
// The Go test TestGraphQLOverHTTPAudit (server_audit_test.go) starts the server and runs this.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node scripts/graphql-http-audit.mjs URL');
  process.exit(2);
}
let failed = 0;
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const r = await audit.fn();
  const line = { id: r.id, name: r.name, status: r.status };
  if (r.status !== 'ok') {
    failed++;
    line.reason = r.reason;
    if (r.response) {
      line.httpStatus = r.response.status;
      line.contentType = r.response.headers.get('content-type');
      line.body = (await r.response.text()).slice(0, 300);
    }
  }
  console.log(JSON.stringify(line));
}
console.log(JSON.stringify({ failed }));
process.exit(failed ? 1 : 0);
