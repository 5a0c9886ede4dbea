// A stand-in for the agents' own backends, started by the Docker tests INSIDE the sandbox they
// test (so it is a host the test itself started, on loopback, whatever the network tier):
//   - an https server for Codex's ChatGPT backend (`chatgpt_base_url` points at it);
//   - an HTTP CONNECT proxy that terminates TLS for Google's hosts with the test's CA, answering
//     what Gemini CLI asks at start with an OAuth login (token info, user info, Code Assist setup).
// Usage: node agent-backend-standin.mjs <dir with cert.pem, key.pem> <codex port> <proxy port>
// Every request is appended to <dir>/requests.log (method, host, path; no header or body).
import { appendFileSync, readFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { join } from "node:path";

const [dir, codexPort, proxyPort] = process.argv.slice(2);
const tls = { cert: readFileSync(join(dir, "cert.pem")), key: readFileSync(join(dir, "key.pem")) };
const log = (line) => appendFileSync(join(dir, "requests.log"), `${line}\n`);

const json = (res, status, body) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

function answer(req, res) {
  const host = (req.headers.host ?? "").split(":")[0];
  const path = (req.url ?? "").split("?")[0];
  log(`${req.method} ${host} ${path}`);
  req.resume();
  if (path.endsWith("/wham/accounts/check")) {
    // The account Codex asks about (its login's account_id) is the one it has.
    const id = String(req.headers["chatgpt-account-id"] ?? "");
    return json(res, 200, { accounts: [{ id, name: "Stand-in", structure: "personal", plan_type: "pro", is_deactivated: false, workspace_backend_origin: `https://${req.headers.host}`, account_routing_override: "NO_CONSTRAINT" }], account_ordering: [id] });
  }
  if (path.includes("tokeninfo")) return json(res, 200, { aud: "test", azp: "test", expires_in: "3599", scope: "https://www.googleapis.com/auth/cloud-platform", email: "standin@example.com", email_verified: "true" });
  if (path.endsWith("/userinfo")) return json(res, 200, { id: "1", email: "standin@example.com", verified_email: true });
  if (path.endsWith(":loadCodeAssist")) return json(res, 200, { currentTier: { id: "standard-tier", name: "Gemini Code Assist Standard" }, allowedTiers: [{ id: "standard-tier", isDefault: true }], cloudaicompanionProject: "standin-project" });
  if (path.endsWith(":onboardUser")) return json(res, 200, { done: true, response: { cloudaicompanionProject: { id: "standin-project" } } });
  if (path.endsWith(":retrieveUserQuota")) return json(res, 200, { buckets: [] });
  return json(res, 200, {});
}

createHttpsServer(tls, answer).listen(Number(codexPort), "127.0.0.1");

// TLS for every CONNECT is terminated here with the test's certificate.
const inner = createHttpsServer(tls, answer);
const proxy = createHttpServer(answer);
proxy.on("connect", (req, socket, head) => {
  log(`CONNECT ${req.url}`);
  socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
  if (head.length) socket.unshift(head);
  inner.emit("connection", socket);
});
proxy.listen(Number(proxyPort), "127.0.0.1", () => log("ready"));
