// A bare MCP client over streamable HTTP, enough for the browser checks to
// have a session of their own: initialize, the initialized notification,
// tools/call, and DELETE to end the session.
export async function openSession(url, clientName) {
  let sid = '';
  let next = 1;
  const post = async (msg) => {
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
    if (sid) headers['Mcp-Session-Id'] = sid;
    if (sid) headers['MCP-Protocol-Version'] = '2025-06-18';
    const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(msg) });
    if (!res.ok && res.status !== 202) throw new Error(`${msg.method}: HTTP ${res.status}: ${await res.text()}`);
    sid = res.headers.get('Mcp-Session-Id') || sid;
    if (msg.id === undefined) return null;
    const text = await res.text();
    // One JSON body, or an SSE stream whose data lines hold the reply.
    const bodies = res.headers.get('Content-Type').startsWith('text/event-stream')
      ? text.split('\n').filter((l) => l.startsWith('data:')).map((l) => JSON.parse(l.slice(5)))
      : [JSON.parse(text)];
    const reply = bodies.find((b) => b.id === msg.id);
    if (!reply) throw new Error(`${msg.method}: no reply in ${text}`);
    if (reply.error) throw new Error(`${msg.method}: ${reply.error.message}`);
    return reply.result;
  };
  const request = (method, params) => post({ jsonrpc: '2.0', id: next++, method, params });
  await request('initialize', {
    protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: clientName, version: '1.0.0' },
  });
  await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return {
    id: () => sid,
    request,
    callTool: (name, args) => request('tools/call', { name, arguments: args }),
    close: async () => {
      await fetch(url, { method: 'DELETE', headers: { 'Mcp-Session-Id': sid } });
    },
  };
}
