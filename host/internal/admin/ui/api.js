// The admin API as the dashboard calls it: same-origin requests that carry
// the session cookie (HttpOnly, so never seen by this code), and the event
// stream.

// Unauthorized is thrown when the API answers 401: no session, or it ended.
export class Unauthorized extends Error {}

// api calls /api/v1/<path> and returns the decoded JSON body; it throws
// Unauthorized on 401 and an APIError with the API's message otherwise.
export async function api(path, { method = 'GET', body } = {}) {
  const init = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch('/api/v1/' + path, init);
  let data = null;
  try {
    data = await res.json();
  } catch {
    // not JSON: keep null
  }
  if (res.status === 401) throw new Unauthorized((data && data.error) || 'unauthorized');
  if (!res.ok) throw new APIError(res.status, (data && data.error) || `${res.status} ${res.statusText}`, data);
  return data;
}

// APIError is any other failure: status is the HTTP status and data the
// decoded body, which for some errors (a refused reload) says more.
export class APIError extends Error {
  constructor(status, message, data) {
    super(message);
    this.status = status;
    this.data = data;
  }
}

// login exchanges a login code ({code}) or the admin token ({token}) for
// the session cookie.
export const login = (cred) => api('login', { method: 'POST', body: cred });
export const logout = () => api('logout', { method: 'POST' });

// connectEvents follows GET /api/v1/events. It calls onStatus with
// 'connecting', 'live' or 'down', onOpen each time the stream (re)opens,
// so that the caller can refetch what it missed, onDrop each time it
// fails (an EventSource cannot tell a 401 from a network error: the caller
// can find out with a request), and onEvent with each decoded event. It
// returns a function that closes the stream for good.
export function connectEvents({ onStatus, onOpen, onDrop, onEvent }) {
  const handle = (e) => {
    try {
      onEvent(JSON.parse(e.data));
    } catch {
      // a malformed event is dropped
    }
  };
  return follow('/api/v1/events', { onStatus, onOpen, onDrop, events: { state: handle, reload: handle, activity: handle } });
}

// followLog follows GET /api/v1/logs/<name>/stream?tail=<tail>: onReset is
// called each time the stream (re)opens, as the tail is sent again then,
// and onLine with each line. It returns a function that closes the stream
// for good.
export function followLog(name, tail, { onReset, onLine, onStatus = () => {} }) {
  return follow(`/api/v1/logs/${encodeURIComponent(name)}/stream?tail=${tail}`, {
    onStatus, onOpen: onReset, events: { message: (e) => onLine(e.data) },
  });
}

// follow keeps an EventSource on url open: events maps event names to
// handlers. After a drop it reconnects itself with a growing delay (0.5 s
// doubling to 10 s), so that a refused stream (401 after the session
// ended) is retried too and the delay is ours.
function follow(url, { onStatus, onOpen, onDrop = () => {}, events }) {
  let es = null;
  let timer = null;
  let delay = 500;
  let closed = false;
  const open = () => {
    onStatus('connecting');
    es = new EventSource(url, { withCredentials: true });
    es.onopen = () => {
      delay = 500;
      onStatus('live');
      onOpen();
    };
    for (const [name, fn] of Object.entries(events)) es.addEventListener(name, fn);
    es.onerror = () => {
      es.close();
      if (closed) return;
      onStatus('down');
      onDrop();
      timer = setTimeout(open, delay);
      delay = Math.min(delay * 2, 10000);
    };
  };
  open();
  return () => {
    closed = true;
    clearTimeout(timer);
    if (es) es.close();
  };
}
