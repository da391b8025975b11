//! A proxy out of file descriptors: it keeps trying to accept, says so
//! once rather than at every try, and serves again once descriptors free.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{wait_until, ProxyProcess};

fn accept_failures(proxy: &ProxyProcess) -> usize {
    proxy.log().matches("accept failed").count()
}

#[test]
fn out_of_descriptors_the_proxy_warns_once_and_recovers() {
    let proxy = ProxyProcess::start_with_fd_limit(40, &[]);
    // Connections complete in the kernel's backlog whether or not the
    // proxy can accept them: far more than it has descriptors for.
    let held: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(proxy.addr).unwrap())
        .collect();
    wait_until(Duration::from_secs(20), "an accept to fail", || {
        accept_failures(&proxy) > 0
    });
    // The proxy tries again every 50 ms meanwhile: a second warning would
    // come within this many tries.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(accept_failures(&proxy), 1, "{}", proxy.log());

    drop(held);
    let mut answer = String::new();
    wait_until(Duration::from_secs(20), "the proxy to serve again", || {
        answer.clear();
        let Ok(mut stream) = TcpStream::connect(proxy.addr) else {
            return false;
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let request = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        stream.write_all(request).is_ok()
            && stream.read_to_string(&mut answer).is_ok()
            && answer.starts_with("HTTP/1.1 200 ")
    });
    assert!(proxy.log().contains("accepting connections again"));
}
