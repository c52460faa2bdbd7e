//! Following a link over HTTP: one request per hop (redirects are followed here, not by
//! the client, so that every hop passes the policy), bounded bodies, and errors sorted
//! into transient (worth retrying) and permanent.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use maplink::{
    domain::reason_code as code,
    links::{self, Parsed},
};
use reqwest::{Client, StatusCode, Url, header};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{dns::InternalOnly, policy::Policy, reason::Reason};

/// Why a lookup failed; the reason's text is the user-facing one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Timeouts, connection errors, 5xx, 429: trying again later may succeed.
    Transient(Reason),
    /// Trying again will not help.
    Permanent(Reason),
}

impl Failure {
    /// The same failure, transient or not, with its reason changed by `f`.
    pub fn map(self, f: impl FnOnce(Reason) -> Reason) -> Self {
        match self {
            Self::Transient(r) => Self::Transient(f(r)),
            Self::Permanent(r) => Self::Permanent(f(r)),
        }
    }
}

/// Where following a link ended.
#[derive(Debug)]
pub enum Landing {
    /// A redirect target carried coordinates: what the parser made of it.
    Coordinates(Parsed),
    /// A page, with its (size-limited) body.
    Page { url: Url, body: String },
}

pub struct Fetcher {
    pub client: Client,
    pub policy: Policy,
    pub max_redirects: u32,
    pub max_body: u64,
    pub timeout: Duration,
    hosts: HostLimits,
}

/// At most `per_host` requests in flight to one host from this process.
struct HostLimits {
    per_host: usize,
    semaphores: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl HostLimits {
    async fn acquire(&self, host: &str) -> OwnedSemaphorePermit {
        let semaphore = {
            let mut map = self.semaphores.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(host.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
                .clone()
        };
        // The semaphore is never closed, so acquiring cannot fail.
        match semaphore.acquire_owned().await {
            Ok(permit) => permit,
            Err(_) => unreachable!("host semaphores are never closed"),
        }
    }
}

pub fn seconds(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// The HTTP client every network-tier request goes through: no automatic redirects
/// (each hop passes the policy in [`Fetcher::follow`]), no proxy, and a DNS resolver
/// that drops internal addresses unless the host is one of `policy`'s private hosts.
pub fn guarded_client(
    policy: &Policy,
    timeout: Duration,
    user_agent: &str,
) -> Result<Client, String> {
    super::install_crypto_provider();
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .no_proxy()
        .dns_resolver(Arc::new(super::dns::GuardedDns {
            private_hosts: policy.private_hosts(),
        }))
        .user_agent(user_agent)
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

impl Fetcher {
    pub fn new(
        client: Client,
        policy: Policy,
        max_redirects: u32,
        max_body: u64,
        timeout: Duration,
        per_host: usize,
    ) -> Self {
        Self {
            client,
            policy,
            max_redirects,
            max_body,
            timeout,
            hosts: HostLimits {
                per_host: per_host.max(1),
                semaphores: Mutex::new(HashMap::new()),
            },
        }
    }

    fn request_failure(&self, e: reqwest::Error) -> Failure {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(err) = source {
            if let Some(refused) = err.downcast_ref::<InternalOnly>() {
                return Failure::Permanent(Reason::new(
                    code::INTERNAL_ADDRESS,
                    format!("refused: {refused}"),
                ));
            }
            source = err.source();
        }
        Failure::Transient(if e.is_timeout() {
            Reason::new(
                code::TIMEOUT,
                format!("timeout after {}", seconds(self.timeout)),
            )
        } else if e.is_connect() {
            Reason::new(code::COULD_NOT_CONNECT, "could not connect")
        } else {
            Reason::new(
                code::REQUEST_FAILED,
                format!("request failed ({})", describe(e)),
            )
        })
    }

    /// GETs `url` (after the policy check), under the per-host limit.
    pub async fn get(&self, url: &Url) -> Result<reqwest::Response, Failure> {
        self.policy.check(url).map_err(Failure::Permanent)?;
        let _permit = self.hosts.acquire(url.host_str().unwrap_or_default()).await;
        self.client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| self.request_failure(e))
    }

    /// Reads at most `max_body` bytes of a response as text.
    pub async fn body(&self, mut response: reqwest::Response) -> Result<String, Failure> {
        let too_large = || {
            Failure::Permanent(Reason::new(
                code::RESPONSE_TOO_LARGE,
                format!("response larger than {} bytes", self.max_body),
            ))
        };
        if response.content_length().is_some_and(|n| n > self.max_body) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.request_failure(e))?
        {
            if (body.len() + chunk.len()) as u64 > self.max_body {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// Follows redirects from `start` until coordinates appear in a target URL or a page
    /// is reached.
    pub async fn follow(&self, start: &Url) -> Result<Landing, Failure> {
        let mut url = start.clone();
        let mut seen = HashSet::new();
        for _ in 0..=self.max_redirects {
            if !seen.insert(url.to_string()) {
                return Err(Failure::Permanent(Reason::new(
                    code::REDIRECT_LOOP,
                    "redirect loop",
                )));
            }
            let response = self.get(&url).await?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .ok_or_else(|| {
                        Failure::Permanent(Reason::new(
                            code::BAD_REDIRECT,
                            format!("HTTP {} without a location", status.as_u16()),
                        ))
                    })?;
                let next = url.join(location).map_err(|_| {
                    Failure::Permanent(Reason::new(
                        code::BAD_REDIRECT,
                        "redirect to an invalid URL",
                    ))
                })?;
                if let Ok(parsed) = links::parse(next.as_str()) {
                    return Ok(Landing::Coordinates(parsed));
                }
                url = next;
                continue;
            }
            if status.is_success() {
                let body = self.body(response).await?;
                return Ok(Landing::Page { url, body });
            }
            return Err(status_failure(status));
        }
        Err(Failure::Permanent(Reason::new(
            code::TOO_MANY_REDIRECTS,
            format!("more than {} redirects", self.max_redirects),
        )))
    }
}

/// What went wrong, for a reason: the error and its innermost cause, never the URL.
///
/// reqwest's own text ends with the request URL, and a URL may carry a secret (the
/// Places key is a query parameter), while a reason is shown to whoever uploaded the
/// sheet. The causes below reqwest (hyper, I/O, TLS) describe the connection only.
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = None;
    let mut next = std::error::Error::source(&e);
    while let Some(err) = next {
        cause = Some(err);
        next = err.source();
    }
    match cause {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

pub fn status_failure(status: StatusCode) -> Failure {
    let text = Reason::new(code::HTTP_ERROR, format!("HTTP {}", status.as_u16()));
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        Failure::Transient(text)
    } else {
        Failure::Permanent(text)
    }
}
