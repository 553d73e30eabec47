//! Listen addresses as operators write them: `127.0.0.1:9108`, `[::1]:9108`,
//! `:9108` (every interface, blackbox_exporter's and Go's habit) and
//! `localhost:9108` (a name, resolved once when the daemon starts).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, ToSocketAddrs};

/// Parse `text` as a listen address; the error says what is expected.
pub fn parse(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let expected = || {
        format!(
            "expected ADDRESS:PORT like 127.0.0.1:9108, localhost:9108 or :9108 (every interface), found {text:?}"
        )
    };
    let (host, port) = text.rsplit_once(':').ok_or_else(expected)?;
    let port: u16 = port.parse().map_err(|_| expected())?;
    if host.is_empty() {
        return Ok(SocketAddr::V4(SocketAddrV4::new(
            Ipv4Addr::UNSPECIFIED,
            port,
        )));
    }
    let mut addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host:?}: {e}"))?
        .collect();
    // `localhost` resolves to ::1 and 127.0.0.1; IPv4 first, as most
    // clients and curl's `localhost` try it.
    addrs.sort_by_key(|a| a.is_ipv6());
    addrs.into_iter().next().ok_or_else(expected)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn listen_addresses_are_read_as_operators_write_them() {
        for (text, want) in [
            ("127.0.0.1:9108", "127.0.0.1:9108"),
            ("[::1]:9108", "[::1]:9108"),
            (":9108", "0.0.0.0:9108"),
            ("localhost:9108", "127.0.0.1:9108"),
            (" 127.0.0.1:0 ", "127.0.0.1:0"),
        ] {
            assert_eq!(
                parse(text).map(|a| a.to_string()),
                Ok(want.to_string()),
                "{text}"
            );
        }
    }

    #[test]
    fn a_listen_address_without_a_usable_port_says_what_is_expected() {
        for text in ["9108", "localhost", ":http", "127.0.0.1:99999"] {
            let e = parse(text).unwrap_err();
            assert!(e.contains("expected ADDRESS:PORT"), "{text}: {e}");
        }
    }
}
