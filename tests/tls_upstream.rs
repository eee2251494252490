//! TLS upstreams: `tickfill serve --feed wss://... --upstream-rest https://...` against the
//! scripted OpenAlgo upstream of `feed_support`, put behind TLS terminators (tokio-rustls)
//! that hold a certificate signed by a CA generated here (rcgen) and trusted only through
//! `--upstream-ca`. Proves: the instrument master downloads over https, ticks arrive over
//! wss, a forwarded REST call goes over https, the watchdog polls quotes over https; and
//! that without `--upstream-ca` both upstreams are refused with an error naming that flag.

mod api_util;
mod feed_support;
mod serve_support;
mod util;

use api_util::{cnc, free_port, post_api, short_agent};
use feed_support::{KEY as UPSTREAM_KEY, Rest, Upstream, wait_for};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};
use serve_support::{PATIENCE, Served};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "tls-upstream-client-key-0123456789abcdef";

/// A CA and a server certificate it signed for 127.0.0.1 and localhost.
struct Pki {
    ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivatePkcs8KeyDer<'static>,
}

fn pki(name: &str) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, format!("{name} test CA"));
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let cert = params.signed_by(&server_key, &ca).unwrap();
    Pki {
        ca_pem: ca.pem(),
        chain: vec![cert.der().clone(), ca.der().clone()],
        key: PrivatePkcs8KeyDer::from(server_key.serialize_der()),
    }
}

/// A TLS terminator on a loopback port: each connection's TLS handshake (with `pki`'s
/// certificate) and then its bytes both ways to the plain `backend` port.
struct TlsFront {
    port: u16,
    _runtime: tokio::runtime::Runtime,
}

fn tls_front(backend: u16, pki: &Pki) -> TlsFront {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pki.chain.clone(), PrivateKeyDer::Pkcs8(pki.key.clone_key()))
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    runtime.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that does not trust the certificate ends the handshake here.
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let Ok(mut plain) = tokio::net::TcpStream::connect(("127.0.0.1", backend)).await
                else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    TlsFront { port, _runtime: runtime }
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port in URL")
}

/// `serve` against the given feed (and REST) URLs, JSON logs at info.
fn serve_command(dir: &Path, feed: &str, rest: Option<&str>) -> (Command, u16) {
    let http = free_port();
    let mut c = Command::new(env!("CARGO_BIN_EXE_tickfill"));
    c.arg("serve")
        .arg("--data-dir")
        .arg(dir)
        .args(["--api-key", KEY, "--topology", "fused", "--idle", "backoff"])
        .args(["--http", &format!("127.0.0.1:{http}")])
        .args(["--ws", &format!("127.0.0.1:{}", free_port())])
        .args(["--feed", feed, "--feed-api-key", UPSTREAM_KEY])
        .args(rest.map(|r| ["--upstream-rest", r]).into_iter().flatten())
        .args(["--log-format", "json"])
        .env("RUST_LOG", "info")
        .env_remove("TICKFILL_UPSTREAM_CA")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR");
    (c, http)
}

fn write_ca(dir: &Path, pki: &Pki) -> PathBuf {
    let path = dir.join("upstream-ca.pem");
    std::fs::write(&path, &pki.ca_pem).unwrap();
    path
}

#[test]
fn wss_feed_and_https_rest_round_trip_with_a_private_ca() {
    let pki = pki("trusted");
    let up = Upstream::start(0);
    let rest = Rest::start();
    let wss = tls_front(up.port, &pki);
    let https = tls_front(port_of(&rest.url), &pki);
    let dir = tempfile::tempdir().unwrap();
    let ca = write_ca(dir.path(), &pki);
    let data = dir.path().join("data");
    let (mut cmd, http) = serve_command(
        &data,
        &format!("wss://127.0.0.1:{}", wss.port),
        Some(&format!("https://127.0.0.1:{}", https.port)),
    );
    cmd.arg("--upstream-ca").arg(&ca);
    // Reaching "ready" means the instrument master came over https (serve loads it from
    // --upstream-rest before it starts).
    let mut s = Served::start(cmd);
    let requests_at_start = rest.requests();
    assert!(requests_at_start >= 1, "the master was fetched from the upstream");
    assert!(data.join("upstream-instruments.csv").exists(), "the master was cached");
    let base = format!("http://127.0.0.1:{http}");

    // The feed authenticates over wss (the scripted upstream counts it) and the engine
    // says so in its log.
    s.wait_line("saying the wss feed authenticated", |l| {
        l.contains("upstream connection authenticated")
    });
    wait_for("the upstream to see our key over wss", PATIENCE, || up.auths() >= 1);

    // Ticks over wss: a resting order makes the engine subscribe SBIN; the upstream
    // streams it; the quote the engine serves is the streamed price.
    up.set_price("NSE:SBIN", 812.35);
    up.stream_every(Duration::from_millis(20));
    let mut order = cnc("SBIN", "BUY", 1, "LIMIT", 1.0);
    order["apikey"] = KEY.into();
    let placed = post_api(&short_agent(), &base, "placeorder", &order).expect("placeorder");
    assert_eq!(placed["status"], "success", "{placed}");
    wait_for("SBIN subscribed upstream over wss", PATIENCE, || up.subscribed("NSE:SBIN").is_some());
    let quote = json!({"apikey": KEY, "symbol": "SBIN", "exchange": "NSE"});
    wait_for("the streamed SBIN price served by the engine", PATIENCE, || {
        post_api(&short_agent(), &base, "quotes", &quote)
            .is_some_and(|v| v["data"]["ltp"].as_f64() == Some(812.35))
    });

    // A forwarded REST call over https: `intervals` comes from the scripted upstream
    // (its list has "5s", tickfill's own does not).
    let v = post_api(&short_agent(), &base, "intervals", &json!({"apikey": KEY}))
        .expect("intervals reply");
    assert_eq!(v["status"], "success", "{v}");
    assert_eq!(v["data"]["seconds"], json!(["5s"]), "forwarded upstream reply: {v}");
    assert!(rest.requests() > requests_at_start, "the upstream REST server saw the call");
    drop(s);
    up.kill();
}

fn json_line(l: &str) -> Value {
    serde_json::from_str(l).unwrap_or_else(|e| panic!("log line is not JSON ({e}): {l}"))
}

#[test]
fn an_untrusted_upstream_certificate_is_refused_naming_the_flag() {
    // The servers' CA is not given: the system roots do not know it.
    let pki = pki("untrusted");
    let up = Upstream::start(0);
    let rest = Rest::start();
    let wss = tls_front(up.port, &pki);
    let https = tls_front(port_of(&rest.url), &pki);
    let dir = tempfile::tempdir().unwrap();

    // https: serve cannot load the master and stops with the reason and the remedy.
    let (mut cmd, _) = serve_command(
        &dir.path().join("a"),
        &format!("wss://127.0.0.1:{}", wss.port),
        Some(&format!("https://127.0.0.1:{}", https.port)),
    );
    let out = cmd.output().expect("run serve");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve started against an untrusted https upstream");
    assert!(err.contains("--upstream-rest"), "{err}");
    assert!(err.contains("certificate") && err.contains("--upstream-ca"), "{err}");
    assert_eq!(rest.requests(), 0, "no request got through the refused handshake");

    // wss (no REST upstream, so the built-in master and serve starts): the feed
    // connection is refused at the TLS handshake, logged with the remedy, and retried.
    let (cmd, _) =
        serve_command(&dir.path().join("b"), &format!("wss://127.0.0.1:{}", wss.port), None);
    let mut s = Served::start(cmd);
    let line = s.wait_line("refusing the wss feed", |l| {
        json_line(l)["message"].as_str().is_some_and(|m| m.contains("feed: upstream connection"))
    });
    let event = json_line(&line);
    assert_eq!(event["level"], "WARN", "{event}");
    let error = event["error"].as_str().unwrap_or_default();
    assert!(error.contains("certificate") && error.contains("--upstream-ca"), "{event}");
    assert_eq!(up.auths(), 0, "nothing authenticated through the refused handshake");
    drop(s);
    up.kill();
}

#[test]
fn polling_mode_fetches_quotes_over_https() {
    // SANDBOX_ENGINE_TYPE=polling: every quote comes from the watchdog's REST client,
    // here over https through the private CA.
    let pki = pki("polling");
    let up = Upstream::start(0);
    let rest = Rest::start();
    let wss = tls_front(up.port, &pki);
    let https = tls_front(port_of(&rest.url), &pki);
    let dir = tempfile::tempdir().unwrap();
    let ca = write_ca(dir.path(), &pki);
    let (mut cmd, http) = serve_command(
        &dir.path().join("data"),
        &format!("wss://127.0.0.1:{}", wss.port),
        Some(&format!("https://127.0.0.1:{}", https.port)),
    );
    cmd.args(["--engine", "polling", "--poll-interval", "200ms"]).arg("--upstream-ca").arg(&ca);
    let _s = Served::start(cmd);
    let base = format!("http://127.0.0.1:{http}");
    rest.set("NSE:SBIN", 790.15);
    let mut order = cnc("SBIN", "BUY", 1, "LIMIT", 1.0);
    order["apikey"] = KEY.into();
    let placed = post_api(&short_agent(), &base, "placeorder", &order).expect("placeorder");
    assert_eq!(placed["status"], "success", "{placed}");
    wait_for("a polled quote over https in /health", PATIENCE, || {
        let v = short_agent()
            .get(format!("{base}/health"))
            .header("X-API-KEY", KEY)
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_json::<Value>().ok());
        v.is_some_and(|v| v["feed"]["polled_quotes"].as_u64().is_some_and(|n| n >= 1))
    });
    up.kill();
}
