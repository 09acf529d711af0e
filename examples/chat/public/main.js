// The chat page. Connects to the Socket.IO server that served it.
(() => {
  const FADE_TIME = 150; // ms
  const TYPING_TIMER_LENGTH = 400; // ms
  const COLORS = [
    '#e21400', '#91580f', '#f8a700', '#f78b00', '#58dc00', '#287b00',
    '#a8f07a', '#4ae8c4', '#3b88eb', '#3824aa', '#a700ff', '#d300e7'
  ];

  const $ = (sel) => document.querySelector(sel);
  const usernameInput = $('.usernameInput');
  const messages = $('.messages');
  const inputMessage = $('.inputMessage');
  const loginPage = $('.login.page');
  const chatPage = $('.chat.page');

  // `?transports=polling` forces HTTP long-polling (used by the browser tests).
  const params = new URLSearchParams(location.search);
  const options = {};
  if (params.get('transports')) options.transports = params.get('transports').split(',');
  const socket = io(options);
  window.chatSocket = socket;

  let username = null;
  let connected = false;
  let typing = false;
  let lastTypingTime = 0;

  const cleanInput = (input) => input.trim().replace(/[<>]/g, '');

  function participantsMessage(n) {
    return n === 1 ? "there's 1 participant" : `there are ${n} participants`;
  }

  function log(text) {
    const li = document.createElement('li');
    li.className = 'log';
    li.textContent = text;
    addElement(li);
  }

  function colorOf(name) {
    let hash = 7;
    for (let i = 0; i < name.length; i++) hash = name.charCodeAt(i) + (hash << 5) - hash;
    return COLORS[Math.abs(hash % COLORS.length)];
  }

  function addChatMessage(data, { typing: isTyping = false } = {}) {
    if (!isTyping) removeTyping(data.username);
    const li = document.createElement('li');
    li.className = 'message' + (isTyping ? ' typing' : '');
    li.dataset.username = data.username;
    const user = document.createElement('span');
    user.className = 'username';
    user.style.color = colorOf(data.username);
    user.textContent = data.username;
    const body = document.createElement('span');
    body.className = 'messageBody';
    body.textContent = isTyping ? 'is typing' : data.message;
    li.append(user, body);
    addElement(li);
  }

  function addElement(el) {
    el.style.opacity = 0;
    messages.append(el);
    requestAnimationFrame(() => {
      el.style.transition = `opacity ${FADE_TIME}ms`;
      el.style.opacity = 1;
    });
    messages.scrollTop = messages.scrollHeight;
  }

  function removeTyping(name) {
    for (const el of messages.querySelectorAll('.typing.message')) {
      if (el.dataset.username === name) el.remove();
    }
  }

  function setUsername() {
    const name = cleanInput(usernameInput.value);
    if (!name) return;
    username = name;
    loginPage.style.display = 'none';
    chatPage.style.display = 'block';
    inputMessage.focus();
    socket.emit('add user', username);
  }

  function sendMessage() {
    const message = cleanInput(inputMessage.value);
    if (message && connected) {
      inputMessage.value = '';
      addChatMessage({ username, message });
      socket.emit('new message', message);
    }
  }

  function updateTyping() {
    if (!connected) return;
    if (!typing) {
      typing = true;
      socket.emit('typing');
    }
    lastTypingTime = Date.now();
    setTimeout(() => {
      if (typing && Date.now() - lastTypingTime >= TYPING_TIMER_LENGTH) {
        socket.emit('stop typing');
        typing = false;
      }
    }, TYPING_TIMER_LENGTH);
  }

  document.addEventListener('keydown', (event) => {
    if (!(event.ctrlKey || event.metaKey || event.altKey)) {
      (username ? inputMessage : usernameInput).focus();
    }
    if (event.key === 'Enter') {
      if (username) {
        sendMessage();
        socket.emit('stop typing');
        typing = false;
      } else {
        setUsername();
      }
    }
  });
  inputMessage.addEventListener('input', updateTyping);
  loginPage.addEventListener('click', () => usernameInput.focus());
  chatPage.addEventListener('click', () => inputMessage.focus());

  socket.on('login', (data) => {
    connected = true;
    log('Welcome to Socket.IO Chat – ');
    log(participantsMessage(data.users));
  });
  socket.on('new message', (data) => addChatMessage(data));
  socket.on('user joined', (data) => {
    log(`${data.username} joined`);
    log(participantsMessage(data.users));
  });
  socket.on('user left', (data) => {
    log(`${data.username} left`);
    log(participantsMessage(data.users));
    removeTyping(data.username);
  });
  socket.on('typing', (data) => addChatMessage(data, { typing: true }));
  socket.on('stop typing', (data) => removeTyping(data.username));
  socket.on('disconnect', () => log('you have been disconnected'));
  socket.io.on('reconnect', () => {
    log('you have been reconnected');
    if (username) socket.emit('add user', username);
  });
})();
