import logging
import threading

import pytest

from deployer.bootstrap import APP_ROOT, Root
from deployer.config.parser import ConfigError
from deployer.config.settings import SettingsError


def test_a_relative_config_path_is_read_from_the_app_root_not_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = {
        "DEPLOYER_CONFIG": "deployer.yaml",
        "REGISTRY_LOGIN_SERVER": "myregistry.azurecr.io",
        "FOUNDRY_PROJECT_RESOURCE_ID": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/g/"
        "providers/Microsoft.CognitiveServices/accounts/a/projects/p",
    }
    config = Root(settings).config
    assert (APP_ROOT / "deployer.yaml").exists() and config.agents[0].name == "support-bot"
    assert config.registries == ("myregistry.azurecr.io",)


def test_an_invalid_config_fails_every_use_and_is_logged_once(tmp_path, caplog):
    bad = tmp_path / "bad.yaml"
    bad.write_text("registries: []\nagents: []\n")
    root = Root({"DEPLOYER_CONFIG": str(bad)})
    with caplog.at_level(logging.CRITICAL, logger="deployer.bootstrap"):
        for _ in range(3):
            with pytest.raises(ConfigError, match="registries: must be a non-empty list"):
                root.config  # noqa: B018 - loading is the use
    [record] = caplog.records
    assert record.message.startswith("agent-deployer configuration is invalid")
    assert "registries: must be a non-empty list" in record.message


def test_an_invalid_setting_fails_every_use_and_is_logged_once(caplog):
    root = Root({"POLL_CONCURRENCY": "many"})
    with caplog.at_level(logging.CRITICAL, logger="deployer.bootstrap"):
        for _ in range(2):
            with pytest.raises(SettingsError, match="POLL_CONCURRENCY must be a whole number"):
                root.config  # noqa: B018 - loading is the use
    assert len(caplog.records) == 1


def test_concurrent_first_uses_read_the_config_once(monkeypatch):
    reads = []
    loaded = object()

    def load_config(*args, **kwargs):
        reads.append(args)
        threading.Event().wait(0.05)  # the others arrive while the first is reading
        return loaded

    monkeypatch.setattr("deployer.config.parser.load_config", load_config)
    root = Root({"DEPLOYER_CONFIG": "deployer.yaml"})
    start = threading.Barrier(8)
    seen = []

    def use() -> None:
        start.wait()
        seen.append(root.config)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reads) == 1 and seen == [loaded] * 8
