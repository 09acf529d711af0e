// The auth page: log in over REST to get a JWT, then connect with it — in the handshake's
// query for the server's tower layer, and in the CONNECT auth payload for `/admin`.
(() => {
  const $ = (id) => document.getElementById(id);
  const log = (text) => {
    const li = document.createElement('li');
    li.textContent = text;
    $('log').prepend(li);
  };
  let sockets = [];

  function reset() {
    for (const s of sockets) s.disconnect();
    sockets = [];
  }

  function connect(token) {
    reset();
    // A new Manager each time (forceNew): the handshake carries this token.
    const options = { forceNew: true, reconnection: false };
    if (token) options.query = { token };
    const main = io(options);
    sockets.push(main);
    $('main-status').textContent = 'connecting…';
    main.on('welcome', (data) => {
      $('main-status').textContent = `connected as ${data.username}${data.admin ? ' (admin)' : ''}`;
      log(`/ welcome ${JSON.stringify(data)}`);
    });
    main.on('connect_error', (err) => {
      $('main-status').textContent = `refused: ${err.message}`;
      log(`/ connect_error: ${err.message}`);
    });
    if (!token) {
      $('admin-status').textContent = 'not connected';
      return;
    }
    // Same connection (multiplexed), its own CONNECT with the token as auth payload.
    const admin = main.io.socket('/admin', { auth: { token } });
    sockets.push(admin);
    $('admin-status').textContent = 'connecting…';
    admin.on('welcome', (data) => {
      $('admin-status').textContent = `connected (${data.clients} client${data.clients === 1 ? '' : 's'} online)`;
      log(`/admin welcome ${JSON.stringify(data)}`);
    });
    admin.on('connect_error', (err) => {
      $('admin-status').textContent = `refused: ${err.message}`;
      log(`/admin connect_error: ${err.message}`);
    });
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
      reset();
      $('main-status').textContent = `login failed: ${body.error || res.status}`;
      $('admin-status').textContent = 'not connected';
      return;
    }
    log(`logged in as ${body.username}`);
    connect(body.token);
  });
  $('no-token').addEventListener('click', () => connect(null));
})();
