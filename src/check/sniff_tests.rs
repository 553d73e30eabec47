//! Tests of the sniffer, on the first bytes real servers send.
use super::*;
use ForeignProtocol as P;

#[test]
fn an_http_answer_may_be_http_at_every_length_and_anything_else_is_known_at_once() {
    let head = b"\r\nHTTP/1.1 101 Switching Protocols\r\n\r\n";
    for n in 0..=head.len() {
        assert!(may_be_http(&head[..n]), "{:?}", &head[..n]);
    }
    for not_http in [
        &b"SSH-2.0-OpenSSH_9.2"[..],
        b"h",
        b"HTTP/2 200",
        b"http/1.1 200 OK",
        b"\x15\x03\x01\x00\x02\x02\x46",
        b"ICY 200 OK",
        b"\r\n\r\nH\x00",
    ] {
        assert!(!may_be_http(not_http), "{not_http:?}");
    }
}

#[test]
fn each_protocol_is_named_from_what_its_servers_send_first() {
    let empty_settings = [0, 0, 0, 4, 0, 0, 0, 0, 0];
    let settings = [0, 0, 18, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100];
    let goaway = [0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let cases: Vec<(&[u8], P)> = vec![
        (b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", P::Ssh),
        (b"banner line\r\nSSH-2.0-dropbear_2022.83\r\n", P::Ssh),
        (b"SSH-1.99-Cisco-1.25\r\n", P::Ssh),
        (
            b"220 mx.example.com ESMTP Postfix (Debian/GNU)\r\n",
            P::Smtp,
        ),
        (b"220 host Python SMTP 1.4.4.post2\r\n", P::Smtp),
        (b"220 ftp.example.com ESMTP Exim 4.96 Tue\r\n", P::Smtp),
        (b"554 No SMTP service here\r\n", P::Smtp),
        (b"220 (vsFTPd 3.0.3)\r\n", P::Ftp),
        (
            b"220-FileZilla Server 1.8.0\r\n220 Please visit\r\n",
            P::Ftp,
        ),
        (b"220 ProFTPD Server (Debian) [::ffff:10.0.0.1]\r\n", P::Ftp),
        (b"220 Service ready for new user.\r\n", P::Greeting220),
        (b"+OK Dovecot (Debian) ready.\r\n", P::Pop3),
        (
            b"* OK [CAPABILITY IMAP4rev1 SASL-IR] Dovecot ready.\r\n",
            P::Imap,
        ),
        (
            b"* PREAUTH IMAP4rev2 server logged in as Smith\r\n",
            P::Imap,
        ),
        (
            b"-ERR wrong number of arguments for 'get' command\r\n",
            P::Redis,
        ),
        (b"-DENIED Redis is running in protected mode\r\n", P::Redis),
        // rustls and OpenSSL alerts to a plaintext request.
        (b"\x15\x03\x03\x00\x02\x02\x32", P::Tls),
        (b"\x15\x03\x01\x00\x02\x02\x46", P::Tls),
        (b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03", P::Tls),
        (&empty_settings, P::Http2),
        (&settings, P::Http2),
        (&goaway, P::Http2),
        (
            b"\x4a\x00\x00\x00\x0a8.0.36\x00\x08\x00\x00\x00abc",
            P::Mysql,
        ),
        (
            b"\x5b\x00\x00\x00\x0a5.5.5-10.11.6-MariaDB-0+deb12u1\x00\x03",
            P::Mysql,
        ),
        (
            b"\x45\x00\x00\x00\xff\x6a\x04Host '10.0.0.1' is not allowed",
            P::Mysql,
        ),
        (
            b"E\x00\x00\x00\x67SFATAL\x00VFATAL\x00C0A000\x00Munsupported",
            P::Postgres,
        ),
        (
            b"E\x00\x00\x00\x40SSCHWERWIEGEND\x00VFATAL\x00C08P01\x00M",
            P::Postgres,
        ),
        (b"AMQP\x00\x00\x09\x01", P::Amqp),
    ];
    for (bytes, want) in cases {
        assert_eq!(
            recognize(bytes),
            Some(want),
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn bytes_that_only_look_like_a_protocol_are_not_named() {
    let settings_of_odd_length = [0, 0, 5, 4, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5];
    let settings_on_a_stream = [0, 0, 0, 4, 0, 0, 0, 0, 1];
    for bytes in [
        &b"\x00\x01garbage\xff\xfe"[..],
        b"-e",
        b"-Er x",
        b"\x16\x05\x00",
        b"\x16\x03\x03\x00\x00",
        b"E\x00\x00\x00\x08SOK",
        b"220",
        b"2200 x",
        b"421 Service not available\r\n",
        b"SSH-x-y\r\n",
        b"SSH-2.0\r\n",
        b"AMQP",
        b"\x07\x00\x00\x00\xff\x10\x00x",
        &settings_of_odd_length,
        &settings_on_a_stream,
    ] {
        assert_eq!(recognize(bytes), None, "{bytes:?}");
    }
}

proptest::proptest! {
    #[test]
    fn sniffing_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
        let _ = may_be_http(&bytes);
        let _ = recognize(&bytes);
    }
}
