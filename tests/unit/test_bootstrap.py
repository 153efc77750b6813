import logging

from deployer.bootstrap import APP_ROOT, Root, check_at_startup


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


def test_an_invalid_config_is_reported_at_start_up_without_stopping_the_host(tmp_path, monkeypatch, caplog):
    bad = tmp_path / "bad.yaml"
    bad.write_text("registries: []\nagents: []\n")
    monkeypatch.setattr("deployer.bootstrap._root", Root({"DEPLOYER_CONFIG": str(bad)}))
    with caplog.at_level(logging.CRITICAL):
        check_at_startup()
    assert "registries: must be a non-empty list" in caplog.text
