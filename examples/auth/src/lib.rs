//! JWT authentication, twice: a tower layer checks a token on the Engine.IO handshake, and a
//! namespace middleware checks the CONNECT auth payload of the `/admin` namespace.
//!
//! `cargo run -p auth`, then open <http://127.0.0.1:3000> (`PORT` changes the port;
//! `JWT_SECRET` the HS256 secret, default a fixed demo secret).
//!
//! * `POST /login` with JSON `{"username", "password"}` answers `{"token", "username",
//!   "admin"}` (a HS256 JWT valid one hour) or 401 `{"error"}`. Demo users: `alice` /
//!   `wonderland` (an admin) and `bob` / `builder`.
//! * The handshake of every Socket.IO connection must carry a valid token, in the query
//!   (`?token=...`, what a browser can send: `io({ query: { token } })`) or in an
//!   `Authorization: Bearer ...` header (`extraHeaders` in Node). Otherwise the layer answers
//!   401 and the client gets `connect_error`. The layer puts the token's [`Claims`] on the
//!   request, where connect handlers read them with `Http<axum::Extension<Claims>>`.
//! * `/` emits `welcome` `{username, admin}` on connection.
//! * `/admin` also wants the token in the CONNECT auth payload (`io("/admin", { auth: { token
//!   } })`) with the claim `admin: true`; its middleware refuses anything else with a
//!   `connect_error` saying why. It emits `welcome` `{username, admin: true, clients}`.

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    Extension, Json, Router,
    extract::Request,
    http::{StatusCode, header},
    middleware::{Next, from_fn_with_state},
    response::{IntoResponse, Response},
    routing::post,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_http::services::ServeDir;
use tower_socketio::{
    ConnectError, Socket, SocketIo, SocketIoConfig,
    extract::{Extension as SocketExtension, Http, State, TryAuth},
};

/// The secret used when `JWT_SECRET` is not set. Fine for a demo, never for production.
pub const DEMO_SECRET: &str = "tower-socketio-auth-example-secret";

/// How long an issued token is valid.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// The demo users: username, password, admin.
const USERS: [(&str, &str, bool); 2] = [("alice", "wonderland", true), ("bob", "builder", false)];

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The username.
    pub sub: String,
    /// Whether the user may enter `/admin`.
    #[serde(default)]
    pub admin: bool,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: u64,
}

/// Issues and checks tokens (HS256 with one secret).
#[derive(Clone)]
pub struct Keys(Arc<KeysInner>);

struct KeysInner {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

impl Keys {
    /// Keys for `secret`.
    pub fn new(secret: &[u8]) -> Keys {
        Keys(Arc::new(KeysInner {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }))
    }

    /// Keys for `JWT_SECRET`, or [`DEMO_SECRET`].
    pub fn from_env() -> Keys {
        match std::env::var("JWT_SECRET") {
            Ok(secret) if !secret.is_empty() => Keys::new(secret.as_bytes()),
            _ => {
                tracing::warn!("JWT_SECRET is not set: using the demo secret");
                Keys::new(DEMO_SECRET.as_bytes())
            }
        }
    }

    /// A token for `username` (`admin` or not), valid [`TOKEN_LIFETIME`].
    pub fn issue(
        &self,
        username: &str,
        admin: bool,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let claims = Claims {
            sub: username.to_owned(),
            admin,
            exp: (now + TOKEN_LIFETIME).as_secs(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.0.encoding)
    }

    /// The claims of `token` if it is valid (signature, HS256, not expired).
    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        let validation = Validation::new(Algorithm::HS256);
        jsonwebtoken::decode::<Claims>(token, &self.0.decoding, &validation).map(|data| data.claims)
    }
}

/// `POST /login`'s body.
#[derive(Debug, Deserialize)]
pub struct Login {
    /// The username.
    pub username: String,
    /// The password.
    pub password: String,
}

async fn login(
    axum::extract::State(keys): axum::extract::State<Keys>,
    Json(login): Json<Login>,
) -> Response {
    let user = USERS
        .iter()
        .find(|(name, password, _)| *name == login.username && *password == login.password);
    let Some(&(username, _, admin)) = user else {
        tracing::info!(username = %login.username, "login refused");
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "wrong username or password" })),
        )
            .into_response();
    };
    match keys.issue(username, admin) {
        Ok(token) => {
            tracing::info!(username, "logged in");
            Json(json!({ "token": token, "username": username, "admin": admin })).into_response()
        }
        Err(e) => {
            tracing::error!("cannot issue a token: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The token of a handshake request: `?token=` or `Authorization: Bearer`.
fn token_of(req: &Request) -> Option<String> {
    let from_query = req.uri().query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    });
    from_query.or_else(|| {
        let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned())
    })
}

/// Whether `req` opens an Engine.IO session at `path`: under the path, without a `sid` (the
/// requests of an open session carry its `sid`, itself a secret), and not the client bundle.
fn is_handshake(req: &Request, path: &str) -> bool {
    let Some(rest) = req.uri().path().strip_prefix(path.trim_end_matches('/')) else {
        return false;
    };
    if !(rest.is_empty() || rest.starts_with('/')) {
        return false;
    }
    if matches!(rest, "/socket.io.js" | "/socket.io.min.js") {
        return false;
    }
    let has_sid = req
        .uri()
        .query()
        .is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "sid"));
    !has_sid
}

/// The tower middleware in front of the Socket.IO layer: a handshake without a valid token
/// gets 401; a valid one continues with its [`Claims`] in the request extensions.
async fn check_handshake(
    axum::extract::State((keys, path)): axum::extract::State<(Keys, Arc<str>)>,
    mut req: Request,
    next: Next,
) -> Response {
    if !is_handshake(&req, &path) {
        return next.run(req).await;
    }
    let claims = match token_of(&req).map(|t| keys.verify(&t)) {
        Some(Ok(claims)) => claims,
        Some(Err(e)) => {
            tracing::info!("handshake refused: invalid token ({e})");
            return (StatusCode::UNAUTHORIZED, "invalid token").into_response();
        }
        None => {
            tracing::info!("handshake refused: no token");
            return (StatusCode::UNAUTHORIZED, "missing token").into_response();
        }
    };
    req.extensions_mut().insert(claims);
    next.run(req).await
}

/// The CONNECT auth payload `/admin` wants.
#[derive(Debug, Deserialize)]
struct AdminAuth {
    token: String,
}

/// The Socket.IO server: `/` for every holder of a token, `/admin` for admins.
pub fn socket_io(config: SocketIoConfig, keys: Keys) -> SocketIo {
    let io = SocketIo::builder().config(config).with_state(keys).build();

    io.ns(
        "/",
        |socket: Socket, handshake: Http<Extension<Claims>>| async move {
            let Extension(claims) = handshake.0;
            tracing::info!(socket = %socket.id(), user = %claims.sub, "connected");
            socket
                .emit(
                    "welcome",
                    &json!({ "username": claims.sub, "admin": claims.admin }),
                )
                .ok();
        },
    );

    io.ns(
        "/admin",
        |socket: Socket, SocketExtension(claims): SocketExtension<Claims>| async move {
            tracing::info!(socket = %socket.id(), user = %claims.sub, "admin connected");
            let clients = socket.io().clients_count();
            socket
                .emit(
                    "welcome",
                    &json!({ "username": claims.sub, "admin": true, "clients": clients }),
                )
                .ok();
        },
    )
    .middleware(
        |socket: Socket, TryAuth(auth): TryAuth<AdminAuth>, State(keys): State<Keys>| async move {
            let Ok(AdminAuth { token }) = auth else {
                return Err(ConnectError::new("missing token in the auth payload"));
            };
            let claims = keys
                .verify(&token)
                .map_err(|e| ConnectError::new(format!("invalid token: {e}")))?;
            if !claims.admin {
                tracing::info!(user = %claims.sub, "refused from /admin");
                return Err(
                    ConnectError::new("not an admin").with_data(json!({ "username": claims.sub }))
                );
            }
            socket.extensions().insert(claims);
            Ok(())
        },
    );
    io
}

/// The directory of this example: its `public/` page and the npm `package.json` pinning the
/// browser client.
pub fn dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The whole app: `POST /login`, the page at `/` (from `public/`), the Socket.IO layer, and
/// the token check in front of it. `config` says where the client bundle is (`serve_client`).
pub fn app(config: SocketIoConfig, keys: Keys) -> Router {
    let path: Arc<str> = Arc::from(config.engine.path.as_str());
    let io = socket_io(config, keys.clone());
    Router::new()
        .route("/login", post(login))
        .fallback_service(ServeDir::new(dir().join("public")))
        .with_state(keys.clone())
        .layer(io.layer())
        .layer(from_fn_with_state((keys, path), check_handshake))
}
