//! TLS for the upstream connections (`--feed wss://...`, `--upstream-rest https://...`):
//! rustls (ring), trusting the system's root certificates (`rustls-native-certs`: the
//! distribution's bundle, or `SSL_CERT_FILE` / `SSL_CERT_DIR`) plus, for a private
//! deployment, the CA certificates of `--upstream-ca FILE`.
//!
//! One trust set per process, fixed by [`configure`] at startup (or, without it, the
//! system's roots on first use), shared by the WebSocket feed client (tungstenite) and
//! the REST clients (ureq), so both upstreams trust exactly the same roots.
//!
//! # Known limitations
//! - No client certificates (mutual TLS) and no certificate pinning.
//! - A system without a root bundle and no `--upstream-ca` trusts nothing: every TLS
//!   upstream is refused, with an error naming `--upstream-ca`.

#![forbid(unsafe_code)]

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// A setting of the trust set that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The `--upstream-ca` file cannot be read or holds no usable certificate: fix the
    /// path or give a PEM file with `-----BEGIN CERTIFICATE-----` blocks.
    #[error("--upstream-ca {path}: {why}")]
    CaFile {
        /// The path given.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// [`configure`] was called after the trust set was already in use or set.
    #[error("--upstream-ca: the trusted roots were already set up for this process")]
    AlreadySet,
}

/// The roots every upstream TLS connection trusts, in the two forms the clients take.
#[derive(Debug)]
struct Trust {
    /// System roots then the extra CAs, as ureq's settings (cloning shares them).
    ureq: ureq::tls::TlsConfig,
    /// The same roots in a rustls client config (for tungstenite).
    client: Arc<rustls::ClientConfig>,
}

static TRUST: OnceLock<Trust> = OnceLock::new();

/// Sets the process's trust set: the system's roots plus the certificates of `extra_ca`
/// (a PEM file; every certificate in it is trusted as a root). Call once, before any
/// upstream connection.
pub fn configure(extra_ca: Option<&Path>) -> Result<(), TlsError> {
    let extra = match extra_ca {
        Some(path) => read_ca_file(path)?,
        None => Vec::new(),
    };
    TRUST.set(build(extra)).map_err(|_| TlsError::AlreadySet)
}

fn trust() -> &'static Trust {
    TRUST.get_or_init(|| build(Vec::new()))
}

/// The rustls config of the WebSocket feed client.
pub fn client_config() -> Arc<rustls::ClientConfig> {
    Arc::clone(&trust().client)
}

/// The TLS settings of a ureq agent for `url` (REST upstream, watchdog polling): rustls
/// with the same roots for `https://`; ureq's defaults, unused, for plain `http://` (so a
/// cleartext setup never loads the root store).
pub fn ureq_config(url: &str) -> ureq::tls::TlsConfig {
    if url.starts_with("https://") { trust().ureq.clone() } else { ureq::tls::TlsConfig::default() }
}

/// `message` (a connection error) with the remedy added when it is about the server's
/// certificate: the operator of a private upstream needs to know which flag trusts it.
pub fn explain(message: String) -> String {
    let lower = message.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("unknownissuer") {
        format!(
            "{message} (the server's certificate is not trusted: pass its CA with \
             --upstream-ca FILE, a PEM file)"
        )
    } else {
        message
    }
}

fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bad = |why: String| TlsError::CaFile { path: path.display().to_string(), why };
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(bad("holds no -----BEGIN CERTIFICATE----- block".into()));
    }
    let mut check = rustls::RootCertStore::empty();
    for (i, c) in certs.iter().enumerate() {
        check
            .add(c.clone())
            .map_err(|e| bad(format!("certificate {} cannot be a trust root: {e}", i + 1)))?;
    }
    Ok(certs)
}

fn build(extra: Vec<CertificateDer<'static>>) -> Trust {
    let native = rustls_native_certs::load_native_certs();
    if !native.errors.is_empty() {
        tracing::warn!(errors = ?native.errors, "tls: some system root certificates could not be loaded");
    }
    let mut store = rustls::RootCertStore::empty();
    let (system, ignored) = store.add_parsable_certificates(native.certs.iter().cloned());
    for c in &extra {
        // Checked by read_ca_file.
        let _ = store.add(c.clone());
    }
    tracing::debug!(system, ignored, extra = extra.len(), "tls: trusted roots loaded");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(store)
        .with_no_client_auth();
    let roots: Vec<_> = native
        .certs
        .iter()
        .chain(&extra)
        .map(|c| ureq::tls::Certificate::from_der(c).to_owned())
        .collect();
    let ureq = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .root_certs(ureq::tls::RootCerts::new_with_certs(&roots))
        .build();
    Trust { ureq, client: Arc::new(client) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_ca_file_is_named_with_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let missing = read_ca_file(&dir.path().join("nope.pem")).unwrap_err().to_string();
        assert!(
            missing.starts_with("--upstream-ca ") && missing.contains("cannot read"),
            "{missing}"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = read_ca_file(&empty).unwrap_err().to_string();
        assert!(e.contains("--upstream-ca") && e.contains("BEGIN CERTIFICATE"), "{e}");
    }

    #[test]
    fn certificate_errors_name_the_flag() {
        let e = explain("invalid peer certificate: UnknownIssuer".into());
        assert!(e.contains("--upstream-ca FILE"), "{e}");
        assert_eq!(explain("connection refused".into()), "connection refused");
    }
}
