// The rest-and-socket page: one socket on the main namespace, one on each other namespace,
// and buttons calling the REST routes that act on the sockets.
(() => {
  const log = document.getElementById('log');
  const add = (kind, text) => {
    const li = document.createElement('li');
    li.className = kind;
    li.textContent = text;
    log.prepend(li);
  };

  const socket = io();
  window.mainSocket = socket;
  socket.on('connect', () => {
    document.getElementById('socket-id').textContent = socket.id;
    add('info', `connected as ${socket.id}`);
    socket.emit('message', 'Hello from the browser');
  });
  socket.on('message', (text) => add('server', `message: ${text}`));
  socket.on('private message', (text) => add('server', `private message: ${text}`));
  socket.on('disconnect', (reason) => add('info', `disconnected (${reason})`));

  const list = document.getElementById('namespaces');
  for (const name of ['/your-namespace1', '/your-namespace2']) {
    const li = document.createElement('li');
    li.textContent = `${name}: connecting…`;
    list.append(li);
    const s = io(name);
    s.on('connect', () => (li.textContent = `${name}: connected as ${s.id}`));
    s.on('disconnect', () => (li.textContent = `${name}: disconnected`));
  }

  async function call(method, url) {
    const res = await fetch(url, { method });
    const body = await res.json();
    add('rest', `${method} ${url} → ${res.status} ${JSON.stringify(body)}`);
  }
  document.getElementById('count').addEventListener('click', () => call('GET', '/clients-count'));
  document.getElementById('private').addEventListener('click', () =>
    call('POST', `/client/${encodeURIComponent(socket.id)}`),
  );
  document.getElementById('send-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = document.getElementById('message');
    if (!input.value.trim()) return;
    socket.emit('message', input.value.trim());
    add('client', `sent: ${input.value.trim()}`);
    input.value = '';
  });
})();
