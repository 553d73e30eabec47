//! Product detection table and what each product knows: every signature
//! names its product, and the lists hold every variant.

use super::*;

fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> ResponseHead {
    ResponseHead {
        version: "HTTP/1.1".into(),
        status,
        reason: String::new(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body_snippet: (!body.is_empty()).then(|| body.to_string()),
    }
}

#[test]
fn each_product_is_recognised_by_its_own_signature() {
    let table: Vec<(ResponseHead, Option<Product>)> = vec![
        (
            answer(400, &[("Server", "nginx/1.22.1")], ""),
            Some(Product::Nginx),
        ),
        (
            answer(502, &[("Server", "openresty")], ""),
            Some(Product::Nginx),
        ),
        (
            answer(503, &[("Server", "Apache/2.4.71 (Debian)")], ""),
            Some(Product::ApacheHttpd),
        ),
        (
            answer(101, &[("Server", "Caddy")], ""),
            Some(Product::Caddy),
        ),
        (
            answer(403, &[("server", "envoy")], ""),
            Some(Product::Envoy),
        ),
        (
            answer(503, &[("server", "istio-envoy")], ""),
            Some(Product::Envoy),
        ),
        (
            answer(
                503,
                &[],
                "upstream connect error or disconnect/reset before headers. reset reason: connection failure",
            ),
            Some(Product::Envoy),
        ),
        (
            answer(502, &[("Server", "awselb/2.0")], ""),
            Some(Product::AwsElb),
        ),
        (
            answer(101, &[("Server", "cloudflare")], ""),
            Some(Product::Cloudflare),
        ),
        (
            answer(426, &[("CF-RAY", "8f0c-AMS")], ""),
            Some(Product::Cloudflare),
        ),
        (
            answer(
                524,
                &[],
                "<link rel=\"stylesheet\" href=\"/cdn-cgi/styles/cf.errors.css\" />",
            ),
            Some(Product::Cloudflare),
        ),
        (
            answer(400, &[("Via", "1.1 abc.cloudfront.net (CloudFront)")], ""),
            Some(Product::CloudFront),
        ),
        (
            answer(400, &[("X-Amz-Cf-Id", "x")], ""),
            Some(Product::CloudFront),
        ),
        (
            answer(502, &[("Via", "1.1 google")], ""),
            Some(Product::GoogleCloudLb),
        ),
        (
            answer(400, &[("X-Varnish", "32770")], ""),
            Some(Product::Varnish),
        ),
        (
            answer(400, &[("Via", "1.1 varnish (Varnish/7.1)")], ""),
            Some(Product::Varnish),
        ),
        (
            answer(400, &[("Server", "AkamaiGHost")], ""),
            Some(Product::Akamai),
        ),
        (
            answer(503, &[("Via", "1.1 vegur")], ""),
            Some(Product::Heroku),
        ),
        (
            answer(426, &[("Via", "1.1 backend (Apache/2.4.71)")], ""),
            Some(Product::ApacheHttpd),
        ),
        (
            answer(
                503,
                &[],
                "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>",
            ),
            Some(Product::Haproxy),
        ),
        (
            answer(
                504,
                &[],
                "<h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n",
            ),
            Some(Product::Haproxy),
        ),
        (
            answer(
                502,
                &[("Server", "nginx")],
                "<hr><center>nginx/1.22.1</center>",
            ),
            Some(Product::Nginx),
        ),
        (
            answer(
                426,
                &[("Server", "Python/3.11 websockets/10.4")],
                "Failed to open a WebSocket connection",
            ),
            None,
        ),
        (answer(400, &[("Server", "nginxish")], ""), None),
        (answer(400, &[], ""), None),
    ];
    for (head, want) in table {
        assert_eq!(Product::in_answer(&head), want, "{head:?}");
    }
}

#[test]
fn an_error_page_names_the_hop_that_wrote_it_over_the_server_header() {
    // Cloudflare in front of nginx: nginx's error page came through, but
    // the Server header is Cloudflare's; the page's author failed.
    let head = answer(502, &[("Server", "cloudflare")], "<center>nginx</center>");
    assert_eq!(Product::in_answer(&head), Some(Product::Nginx));
}

#[test]
fn every_product_has_a_name_and_what_it_knows_is_specific() {
    let mut names = Vec::new();
    for product in Product::ALL {
        let name = product.name();
        assert!(!names.contains(&name), "{name} twice");
        names.push(name);
        for text in [product.upgrade_fix(), product.idle_cut()]
            .into_iter()
            .flatten()
        {
            assert!(text.len() > 20, "{name}: {text}");
        }
    }
    for product in Product::COMMON_PROXIES {
        let known = product.upgrade_fix().or(product.idle_cut());
        assert!(known.is_some(), "{} has nothing to say", product.name());
    }
}
