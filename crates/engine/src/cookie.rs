//! The optional `io` session cookie.

use http::HeaderValue;

use crate::{
    config::{CookieConfig, SameSite},
    sid::Sid,
};

/// The `Set-Cookie` value for a new session, or `None` (logged) if the configured attributes
/// cannot form a valid header.
pub(crate) fn set_cookie(config: &CookieConfig, sid: &Sid) -> Option<HeaderValue> {
    let mut c = cookie::Cookie::new(config.name.clone(), sid.to_string());
    if let Some(path) = &config.path {
        c.set_path(path.clone());
    }
    if let Some(domain) = &config.domain {
        c.set_domain(domain.clone());
    }
    c.set_http_only(config.http_only);
    c.set_secure(config.secure);
    c.set_same_site(config.same_site.map(|s| match s {
        SameSite::Strict => cookie::SameSite::Strict,
        SameSite::Lax => cookie::SameSite::Lax,
        SameSite::None => cookie::SameSite::None,
    }));
    if let Some(age) = config.max_age {
        c.set_max_age(cookie::time::Duration::try_from(age).ok());
    }
    match HeaderValue::from_str(&c.encoded().to_string()) {
        Ok(v) => Some(v),
        Err(_) => {
            tracing::warn!(target: "engineio::request", "the configured cookie is not a valid header value");
            None
        }
    }
}
