//! Sessions: log in over REST with `axum-login` and `tower-sessions`, and the Socket.IO
//! connection knows who you are, through the session cookie of its handshake.
//!
//! `cargo run -p session`, then open <http://127.0.0.1:3000> (`PORT` changes the port).
//!
//! * `POST /login` with JSON `{"username", "password"}` logs in (a session cookie) and answers
//!   `{"username", "name"}`, or 401 `{"error"}`. Demo users: `alice` / `wonderland` (Alice)
//!   and `bob` / `builder` (Bob).
//! * `POST /logout` logs out and disconnects that user's sockets; `GET /me` answers the
//!   logged-in user or 401.
//! * Socket.IO, main namespace: a middleware reads the user from the handshake with
//!   `Http<AuthSession<Backend>>` and refuses anonymous sockets (`connect_error` "not logged
//!   in"). On connection the server emits `welcome` `{message: "Hello, {name}!", username,
//!   name}`; `whoami` is acknowledged with `{username, name}`.
//!
//! Sessions live in memory ([`MemoryStore`]): a restart logs everyone out.

use std::{collections::HashMap, path::Path, sync::Arc};

use axum::{
    Json, Router,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use axum_login::{
    AuthManagerLayerBuilder, AuthSession as LoginSession, AuthUser, AuthnBackend, UserId,
    tower_sessions::{MemoryStore, SessionManagerLayer},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_http::services::ServeDir;
use tower_socketio::{
    AckSender, ConnectError, Socket, SocketIo, SocketIoConfig,
    extract::{Extension, Http},
};

/// A user of the demo.
#[derive(Clone, Serialize)]
pub struct User {
    /// The login name.
    pub username: String,
    /// The display name.
    pub name: String,
    #[serde(skip)]
    password: String,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("username", &self.username)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl AuthUser for User {
    type Id = String;

    fn id(&self) -> String {
        self.username.clone()
    }

    // A session stays valid while this is unchanged. (A real app stores a password hash and
    // returns it here; the demo keeps plain passwords.)
    fn session_auth_hash(&self) -> &[u8] {
        self.password.as_bytes()
    }
}

/// What `POST /login` takes.
#[derive(Clone, Deserialize)]
pub struct Credentials {
    /// The login name.
    pub username: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The users, in memory.
#[derive(Clone, Debug)]
pub struct Backend {
    users: Arc<HashMap<String, User>>,
}

impl Default for Backend {
    /// The demo users: alice / wonderland (Alice) and bob / builder (Bob).
    fn default() -> Self {
        let users = [("alice", "wonderland", "Alice"), ("bob", "builder", "Bob")]
            .into_iter()
            .map(|(username, password, name)| {
                (
                    username.to_owned(),
                    User {
                        username: username.to_owned(),
                        name: name.to_owned(),
                        password: password.to_owned(),
                    },
                )
            })
            .collect();
        Backend {
            users: Arc::new(users),
        }
    }
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = Credentials;
    type Error = std::convert::Infallible;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<User>, Self::Error> {
        Ok(self
            .users
            .get(&creds.username)
            .filter(|u| u.password == creds.password)
            .cloned())
    }

    async fn get_user(&self, user_id: &UserId<Self>) -> Result<Option<User>, Self::Error> {
        Ok(self.users.get(user_id).cloned())
    }
}

/// The axum-login session of a request.
pub type AuthSession = LoginSession<Backend>;

/// The room of every socket of `username`.
fn user_room(username: &str) -> String {
    format!("user:{username}")
}

async fn login(mut auth: AuthSession, Json(creds): Json<Credentials>) -> Response {
    let user = match auth.authenticate(creds.clone()).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            tracing::info!(username = %creds.username, "login refused");
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({ "error": "wrong username or password" })),
            )
                .into_response();
        }
        Err(e) => {
            tracing::error!("cannot authenticate: {e}");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    if let Err(e) = auth.login(&user).await {
        tracing::error!("cannot log in: {e}");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    tracing::info!(username = %user.username, "logged in");
    Json(json!({ "username": user.username, "name": user.name })).into_response()
}

async fn logout(io: SocketIo, mut auth: AuthSession) -> Response {
    match auth.logout().await {
        Ok(Some(user)) => {
            tracing::info!(username = %user.username, "logged out");
            io.to(user_room(&user.username)).disconnect_sockets(false);
            Json(json!({ "username": user.username })).into_response()
        }
        Ok(None) => Json(json!({})).into_response(),
        Err(e) => {
            tracing::error!("cannot log out: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn me(auth: AuthSession) -> Response {
    match auth.user {
        Some(user) => Json(json!({ "username": user.username, "name": user.name })).into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "not logged in" })),
        )
            .into_response(),
    }
}

/// The Socket.IO server: logged-in users only.
pub fn socket_io(config: SocketIoConfig) -> SocketIo {
    let io = SocketIo::with_config(config);
    io.ns(
        "/",
        |socket: Socket, Extension(user): Extension<User>| async move {
            tracing::info!(socket = %socket.id(), username = %user.username, "connected");
            socket.join(user_room(&user.username));
            socket
                .emit(
                    "welcome",
                    &json!({
                        "message": format!("Hello, {}!", user.name),
                        "username": user.username,
                        "name": user.name,
                    }),
                )
                .ok();
            socket.on(
                "whoami",
                |ack: AckSender, Extension(user): Extension<User>| async move {
                    ack.send(&json!({ "username": user.username, "name": user.name }))
                        .ok();
                },
            );
        },
    )
    .middleware(|socket: Socket, handshake: Http<AuthSession>| async move {
        let Some(user) = handshake.0.user else {
            return Err(ConnectError::new("not logged in"));
        };
        socket.extensions().insert(user);
        Ok(())
    });
    io
}

/// The directory of this example: its `public/` page and the npm `package.json` pinning the
/// browser client.
pub fn dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The whole app: the REST routes, the page at `/` (from `public/`), the Socket.IO layer, and
/// the session and login layers in front of both. `config` says where the client bundle is
/// (`serve_client`).
pub fn app(config: SocketIoConfig) -> Router {
    let io = socket_io(config);
    // Plain HTTP on 127.0.0.1: the cookie cannot be `Secure`.
    let sessions = SessionManagerLayer::new(MemoryStore::default()).with_secure(false);
    let login_layer = AuthManagerLayerBuilder::new(Backend::default(), sessions).build();
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .fallback_service(ServeDir::new(dir().join("public")))
        .layer(io.layer())
        .layer(login_layer)
}
