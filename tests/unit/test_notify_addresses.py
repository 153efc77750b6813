import pytest

from deployer.domain.addresses import UrlRefused, checked_addresses, parse_target, refusal


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),  # shared address space (carrier NAT)
        ("0.0.0.0", "reserved"),
        ("169.254.169.254", "metadata"),
        ("168.63.129.16", "metadata"),
        ("169.254.10.10", "link-local"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("fe80::1", "link-local"),
        ("ff02::1", "multicast"),
        ("::", "reserved"),
        ("::ffff:10.0.0.1", "private"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "metadata"),
        ("2002:a00:1::", "private"),  # 6to4 around 10.0.0.1
        ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 around 169.254.169.254
    ],
)
def test_internal_addresses_are_refused(address, why):
    reason = refusal(address, allow_loopback=False)
    assert reason is not None and why in reason


@pytest.mark.parametrize("address", ["93.184.216.34", "20.50.2.1", "2606:4700::6810:84e5"])
def test_global_addresses_are_allowed(address):
    assert refusal(address, allow_loopback=False) is None


def test_loopback_is_allowed_only_with_the_exception_and_nothing_else_is():
    assert refusal("127.0.0.1", allow_loopback=True) is None
    assert refusal("::1", allow_loopback=True) is None
    for internal in ("10.0.0.1", "169.254.169.254", "fe80::1"):
        assert refusal(internal, allow_loopback=True) is not None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/x",
        "http://hooks.example.com/x",
        "//hooks.example.com/x",
        "https://user:pw@hooks.example.com/x",
        "https://hooks.example.com:99999/x",
        "http://127.0.0.1:8080/x",  # plain http needs the loopback exception
    ],
)
def test_urls_that_break_the_scheme_rules_are_refused(url):
    with pytest.raises(UrlRefused):
        parse_target(url, allow_loopback=False)


def test_plain_http_is_allowed_to_loopback_names_with_the_exception():
    for url in ("http://127.0.0.1:8080/hook", "http://localhost:8080/hook", "http://[::1]:8080/hook"):
        target = parse_target(url, allow_loopback=True)
        assert target.scheme == "http" and target.path == "/hook"
    with pytest.raises(UrlRefused):
        parse_target("http://hooks.example.com/x", allow_loopback=True)


def test_the_target_keeps_the_query_and_shows_only_the_origin():
    target = parse_target("https://hooks.slack.com/services/T0/B0/SECRET?x=1", allow_loopback=False)
    assert target.path == "/services/T0/B0/SECRET?x=1" and target.port == 443
    assert target.origin == "https://hooks.slack.com"


def test_a_name_is_refused_if_any_address_it_resolves_to_is_internal():
    target = parse_target("https://hooks.example.com/x", allow_loopback=False)
    assert checked_addresses(target, ["93.184.216.34"], allow_loopback=False) == ["93.184.216.34"]
    with pytest.raises(UrlRefused, match="private"):
        checked_addresses(target, ["93.184.216.34", "10.0.0.7"], allow_loopback=False)
    with pytest.raises(UrlRefused, match="does not resolve"):
        checked_addresses(target, [], allow_loopback=False)


def test_plain_http_must_resolve_to_loopback_only():
    target = parse_target("http://localhost:8080/x", allow_loopback=True)
    assert checked_addresses(target, ["127.0.0.1", "::1"], allow_loopback=True) == ["127.0.0.1", "::1"]
    with pytest.raises(UrlRefused):
        checked_addresses(target, ["93.184.216.34"], allow_loopback=True)
