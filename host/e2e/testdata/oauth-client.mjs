// An MCP client that signs in with OAuth through the TypeScript SDK v2
// (@modelcontextprotocol/client), started by TestOAuthSignInAndRefusals
// (oauth_test.go), which passes everything in the environment:
//
//   MCP_CLIENT     the @modelcontextprotocol/client package directory
//   MCP_URL        the protected MCP endpoint
//   CLIENT_ID      a pre-registered client id; unset: dynamic registration
//   CLIENT_SECRET  its secret, for a confidential client (optional)
//   ISSUER         the authorization server a pre-registered client belongs
//                  to (optional; the SDK binds stored credentials to it)
//   SCOPE          the scope the client asks for (optional; by default the
//                  SDK takes it from the 401 challenge or the metadata)
//   TOOL           the tool to call
//   TOOL_ARGS      its arguments, a JSON object (default {})
//   STEP_UP_TOOL   a tool to call next, which needs more scope than the
//                  sign-in got (optional; called with TOOL_ARGS)
//
// The SDK does the OAuth part: on the 401 it reads the WWW-Authenticate
// challenge, fetches the protected resource metadata and the authorization
// server metadata, registers the client if it has no id, and hands over the
// authorization URL (PKCE S256, resource). This script is the user agent:
// it follows that URL without a browser (the test authorization server
// approves at once) and reads the code from the Location of the redirect to
// the loopback redirect URI, which therefore needs no listener. Then the
// SDK exchanges the code, and the client lists the tools and calls one.
// When the proxy answers the step-up tool with 403 insufficient_scope, the
// SDK asks for the larger scope and this script authorizes again the same
// way, then the call is made again.
//
// It prints one JSON line: what the SDK discovered and sent, the tools and
// the call's result. It exits non-zero on the first failure.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};

// Import the package by its "exports" entry, so the script needs no
// node_modules beside it.
async function importClient(dir) {
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const entry = pkg.exports['.'].import.default;
  return import(pathToFileURL(path.join(dir, entry)).href);
}

const sdk = await importClient(env('MCP_CLIENT'));
const { Client, StreamableHTTPClientTransport, UnauthorizedError } = sdk;

// The port is never listened on: the code is read from the redirect.
const redirectUrl = 'http://127.0.0.1:8976/callback';

// An in-memory OAuthClientProvider that records what the SDK asks of it.
class TestProvider {
  constructor({ clientId, clientSecret, issuer, scope }) {
    this.scope = scope;
    this.info = clientId
      ? { client_id: clientId, ...(clientSecret ? { client_secret: clientSecret } : {}), ...(issuer ? { issuer } : {}) }
      : undefined;
    this.discovery = undefined;
    this.registered = false;
    this.authorizationUrl = undefined;
    this.savedTokens = undefined;
    this.verifier = undefined;
    this.lastState = undefined;
  }
  get redirectUrl() {
    return redirectUrl;
  }
  get clientMetadata() {
    return {
      client_name: 'mcphost oauth e2e',
      redirect_uris: [redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...(this.scope ? { scope: this.scope } : {}),
    };
  }
  state() {
    this.lastState = randomBytes(16).toString('hex');
    return this.lastState;
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info) {
    // The SDK also saves a pre-registered client's information back, to
    // stamp the issuer on it: only a save with no client before is a
    // registration.
    if (!this.info) this.registered = true;
    this.info = info;
  }
  tokens() {
    return this.savedTokens;
  }
  saveTokens(tokens) {
    this.savedTokens = tokens;
  }
  redirectToAuthorization(url) {
    this.authorizationUrl = new URL(url);
  }
  saveCodeVerifier(verifier) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  saveDiscoveryState(state) {
    this.discovery = state;
  }
  discoveryState() {
    return this.discovery;
  }
}

// followAuthorization plays the user agent: it requests the authorization
// URL and returns the query of the redirect to the loopback redirect URI.
async function followAuthorization(url) {
  let next = url;
  for (let hops = 0; hops < 5; hops++) {
    const res = await fetch(next, { redirect: 'manual' });
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) {
      throw new Error(`authorization: ${res.status} without a redirect: ${await res.text()}`);
    }
    const target = new URL(location, next);
    if (target.origin + target.pathname === redirectUrl) return target.searchParams;
    next = target;
  }
  throw new Error('authorization: too many redirects');
}

// signIn follows the pending authorization URL and hands the code to the
// transport, which exchanges it for tokens.
async function signIn(transport) {
  const callback = await followAuthorization(provider.authorizationUrl);
  if (callback.get('error')) {
    throw new Error(`authorization refused: ${callback.get('error')}: ${callback.get('error_description')}`);
  }
  if (callback.get('state') !== provider.lastState) throw new Error('authorization: state mismatch');
  await transport.finishAuth(callback);
}

const provider = new TestProvider({
  clientId: process.env.CLIENT_ID,
  clientSecret: process.env.CLIENT_SECRET,
  issuer: process.env.ISSUER,
  scope: process.env.SCOPE,
});
const url = new URL(env('MCP_URL'));
const client = new Client({ name: 'mcphost-oauth-e2e', version: '1.0.0' });

let challenged = false;
try {
  await client.connect(new StreamableHTTPClientTransport(url, { authProvider: provider }));
} catch (err) {
  if (!(err instanceof UnauthorizedError) || !provider.authorizationUrl) throw err;
  challenged = true;
}

const result = { challenged, registered: provider.registered };
if (challenged) {
  const auth = provider.authorizationUrl;
  result.authorization = {
    endpoint: auth.origin + auth.pathname,
    client_id: auth.searchParams.get('client_id'),
    resource: auth.searchParams.get('resource'),
    scope: auth.searchParams.get('scope'),
    code_challenge_method: auth.searchParams.get('code_challenge_method'),
  };
  // A fresh transport: the first one stays failed after the 401.
  const transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
  await signIn(transport);
  await client.connect(transport);
}
result.token = {
  type: provider.savedTokens?.token_type,
  scope: provider.savedTokens?.scope,
  refresh: Boolean(provider.savedTokens?.refresh_token),
};

const tools = await client.listTools();
result.tools = tools.tools.map((t) => t.name);
const args = JSON.parse(process.env.TOOL_ARGS || '{}');
result.call = await client.callTool({ name: env('TOOL'), arguments: args });

if (process.env.STEP_UP_TOOL) {
  const call = () => client.callTool({ name: process.env.STEP_UP_TOOL, arguments: args });
  const before = provider.authorizationUrl;
  let stepUp = { challenged: false };
  try {
    stepUp.call = await call();
  } catch (err) {
    if (!(err instanceof UnauthorizedError) || provider.authorizationUrl === before) throw err;
    stepUp = { challenged: true, scope: provider.authorizationUrl.searchParams.get('scope') };
    await signIn(client.transport);
    stepUp.token_scope = provider.savedTokens?.scope;
    stepUp.call = await call();
  }
  result.step_up = stepUp;
}
await client.close();
console.log(JSON.stringify(result));
