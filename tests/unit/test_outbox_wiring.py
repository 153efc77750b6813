from deployer.adapters.safe_http import SafeHttpTransport
from deployer.bootstrap import Root


def test_the_root_builds_the_sender_with_the_loopback_exception_and_the_public_host(tmp_path):
    config = tmp_path / "deployer.yaml"
    config.write_text(
        "registries: [myregistry.azurecr.io]\ngrant_runtime_role: false\n"
        "agents: [{name: echo, repository: agents/echo}]\n"
        "webhooks: [{url: 'http://127.0.0.1:9/hook', format: slack}]\n"
    )
    root = Root(
        {
            "DEPLOYER_CONFIG": str(config),
            "WEBHOOKS_ALLOW_LOOPBACK": "true",
            "WEBSITE_HOSTNAME": "app.example.net",
        }
    )
    delivery = root.delivery
    assert isinstance(delivery.webhooks, SafeHttpTransport) and delivery.topics is None
    assert delivery.links_base == "https://app.example.net"
    assert len(root.config.subscribers) == 1
