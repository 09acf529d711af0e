// The rooms page: join a room (the page joins the room in ?room=, default "hello-1234", on
// connect), see the server's greetings, say hello to the server's log.
(() => {
  const log = document.getElementById('log');
  const add = (kind, text) => {
    const li = document.createElement('li');
    li.className = kind;
    li.textContent = text;
    log.append(li);
  };
  const roomInput = document.getElementById('room');
  const params = new URLSearchParams(location.search);
  if (params.get('room')) roomInput.value = params.get('room');

  const socket = io();
  window.roomsSocket = socket;
  socket.on('connect', () => {
    add('info', `[socket.io] Connected as ${socket.id}.`);
    socket.emit('IO_CLIENT_JOIN_ROOM', roomInput.value);
  });
  socket.on('IO_SERVER_HELLO', (message) => add('server', `Server: ${message}`));
  socket.on('disconnect', () => add('info', '[socket.io] Disconnected.'));

  document.getElementById('join-form').addEventListener('submit', (event) => {
    event.preventDefault();
    if (roomInput.value) socket.emit('IO_CLIENT_JOIN_ROOM', roomInput.value);
  });
  document.getElementById('hello-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = document.getElementById('hello').value;
    socket.emit('IO_CLIENT_HELLO', text);
    add('client', `You: ${text}`);
  });
})();
