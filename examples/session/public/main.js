// The session page: logging in over REST sets the session cookie; the Socket.IO handshake
// carries it, so the server knows who connected and greets them by name.
(() => {
  const $ = (id) => document.getElementById(id);
  const log = (text) => {
    const li = document.createElement('li');
    li.textContent = text;
    $('log').prepend(li);
  };
  let socket = null;

  function connect() {
    if (socket) socket.disconnect();
    // A new connection (forceNew), so its handshake carries the current cookie.
    socket = io({ forceNew: true, reconnection: false });
    window.sessionSocket = socket;
    socket.on('welcome', (data) => {
      $('greeting').textContent = data.message;
      log(`welcome ${JSON.stringify(data)}`);
    });
    socket.on('connect_error', (err) => {
      $('greeting').textContent = `Socket.IO refused: ${err.message}`;
      log(`connect_error: ${err.message}`);
    });
    socket.on('disconnect', (reason) => log(`disconnected (${reason})`));
  }

  $('login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const res = await fetch('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: $('username').value, password: $('password').value }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      $('greeting').textContent = `login failed: ${body.error || res.status}`;
      return;
    }
    log(`logged in as ${body.username}`);
    connect();
  });
  $('logout').addEventListener('click', async () => {
    await fetch('/logout', { method: 'POST' });
    $('greeting').textContent = 'logged out';
    log('logged out');
  });
  connect();
})();
