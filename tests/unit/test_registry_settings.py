"""Where the deployer reaches each registry: ``https://{login server}`` in Azure, the stand-in's
origin plus the login server locally (``DEPLOYER_REGISTRY_ENDPOINT``): configuration only."""

import pytest

from deployer.adapters.credentials import StaticTokenCredential
from deployer.adapters.registry import AcrRegistry
from deployer.bootstrap import Root
from deployer.config.settings import LOCAL_ONLY_SETTINGS, Settings, SettingsError


def test_a_registry_is_called_at_its_login_server_unless_a_local_origin_replaces_it():
    credential = StaticTokenCredential("t")
    assert AcrRegistry(credential).endpoint("myregistry.azurecr.io") == "https://myregistry.azurecr.io"
    local = AcrRegistry(credential, endpoint_base="https://127.0.0.1:8443/")
    assert local.endpoint("myregistry.azurecr.io") == "https://127.0.0.1:8443/myregistry.azurecr.io"


def test_the_registry_endpoint_setting_is_local_only_and_https():
    assert "DEPLOYER_REGISTRY_ENDPOINT" in LOCAL_ONLY_SETTINGS
    assert Settings.from_env({}).registry_endpoint is None
    local = Settings.from_env({"DEPLOYER_REGISTRY_ENDPOINT": "https://127.0.0.1:8443/"})
    assert local.registry_endpoint == "https://127.0.0.1:8443"
    with pytest.raises(SettingsError, match="DEPLOYER_REGISTRY_ENDPOINT must be an https:// URL"):
        Settings.from_env({"DEPLOYER_REGISTRY_ENDPOINT": "http://127.0.0.1:8443"})


def test_the_app_checks_images_with_the_registry_adapter_the_settings_describe():
    root = Root({"DEPLOYER_REGISTRY_ENDPOINT": "https://127.0.0.1:8443", "DEPLOYER_STATIC_TOKEN": "t"})
    registry = root.registry
    assert isinstance(registry, AcrRegistry)
    assert registry.endpoint("r.azurecr.io") == "https://127.0.0.1:8443/r.azurecr.io"
