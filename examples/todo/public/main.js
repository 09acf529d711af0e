// The todo page: shows the shared list, adds and removes items. Every change made anywhere
// arrives as `todos` (the whole list) and replaces what is shown.
(() => {
  const list = document.getElementById('todos');
  const form = document.getElementById('add-form');
  const input = document.getElementById('new-title');
  const status = document.getElementById('status');

  // `?transports=polling` forces HTTP long-polling.
  const params = new URLSearchParams(location.search);
  const options = {};
  if (params.get('transports')) options.transports = params.get('transports').split(',');
  const socket = io(options);
  window.todoSocket = socket;

  function render(todos) {
    list.replaceChildren(
      ...todos.map((todo) => {
        const li = document.createElement('li');
        li.className = 'todo';
        li.dataset.id = todo.id;
        const title = document.createElement('span');
        title.className = 'title';
        title.textContent = todo.title;
        const remove = document.createElement('button');
        remove.className = 'remove';
        remove.type = 'button';
        remove.title = 'Remove';
        remove.setAttribute('aria-label', `remove ${todo.title}`);
        remove.textContent = '×';
        remove.addEventListener('click', () => socket.emit('todo:remove', todo.id));
        li.append(title, remove);
        return li;
      }),
    );
    const n = todos.length;
    status.textContent = `${n} item${n === 1 ? '' : 's'} · ${socket.io.engine ? socket.io.engine.transport.name : ''}`;
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const title = input.value.trim();
    if (!title) return;
    socket.emit('todo:add', title);
    input.value = '';
  });

  socket.on('connect', () => socket.emit('todo:get'));
  socket.on('todos', render);
  socket.on('disconnect', () => {
    status.textContent = 'disconnected, reconnecting…';
  });
})();
