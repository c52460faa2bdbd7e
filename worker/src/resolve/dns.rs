//! A DNS resolver for the network tier's HTTP client that drops internal addresses.
//!
//! The client connects only to addresses this resolver returns, so the address check
//! applies to the connection actually made, on every redirect hop, and cannot be
//! dodged by a name that resolves differently later (DNS rebinding).

use std::{io, net::SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::policy::{HostList, is_internal};

#[derive(Clone, Debug)]
pub struct GuardedDns {
    /// Names allowed to resolve to internal addresses.
    pub private_hosts: HostList,
}

/// The error a refused name produces; recognised when classifying request errors.
#[derive(Debug, thiserror::Error)]
#[error("{0} resolves only to internal addresses")]
pub struct InternalOnly(pub String);

impl Resolve for GuardedDns {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let allow_private = self.private_hosts.matches(&host);
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?
                .collect();
            if found.is_empty() {
                return Err(Box::new(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{host} has no address"),
                )) as _);
            }
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| allow_private || !is_internal(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(InternalOnly(host)) as _);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}
