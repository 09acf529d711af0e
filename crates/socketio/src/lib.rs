//! tower-socketio: a Socket.IO server as a tower `Layer`.
