"""apps.yaml: plain entries, list and Git directory generators, and errors that name the entry and the fix."""

from __future__ import annotations

import re

import pytest

from include.common.errors import InputError
from include.gitops.apps import APP_PATTERN, App, parse_apps
from include.gitops.demo import DEMO_APP, DEMO_PATH
from include.common.paths import demo_inputs_dir

FOLDERS = ["apps", "apps/cart", "apps/cart/overlays", "apps/cart/overlays/dev", "apps/shop", "apps/shop/base",
           "apps/shop/overlays", "apps/shop/overlays/dev", "apps/shop/overlays/prod", "apps/legacy/overlays/dev",
           "platform"]


def test_the_demo_repo_declares_shop_automated():
    apps = {a.name: a for a in parse_apps((demo_inputs_dir() / "manifests" / "apps.yaml").read_text())}
    assert apps[DEMO_APP] == App(name=DEMO_APP, path=DEMO_PATH, namespace="shop-dev", automated=True, prune=True)
    assert apps["shop-prod"].automated is False


def test_no_file_means_no_apps():
    assert parse_apps(None) == () == parse_apps("")


def test_defaults_are_argo_cds_manual_sync_on_main():
    [app] = parse_apps("apps: [{name: web, path: web}]")
    assert (app.revision, app.namespace, app.automated, app.self_heal, app.prune) == ("main", "default", False, False, False)


def test_list_generator_fills_elements_over_its_template():
    text = """
generators:
  - list:
      elements:
        - {name: a, path: apps/a}
        - {name: b, path: apps/b, automated: false}
    template: {automated: true, namespace: team}
"""
    assert parse_apps(text) == (App("a", "apps/a", "team", automated=True), App("b", "apps/b", "team", automated=False))


def test_git_directories_generator_makes_one_app_per_matching_folder():
    text = """
generators:
  - git:
      directories:
        - path: apps/*/overlays/dev
        - {path: apps/legacy/overlays/dev, exclude: true}
    template: {automated: true, namespace: "{{path[1]}}-dev"}
"""
    apps = parse_apps(text, folders=FOLDERS)
    assert [(a.name, a.path, a.namespace, a.automated) for a in apps] == [
        ("cart", "apps/cart/overlays/dev", "cart-dev", True), ("shop", "apps/shop/overlays/dev", "shop-dev", True)]


def test_directory_names_can_come_from_a_template():
    text = 'generators: [{git: {directories: "apps/shop/overlays/*"}, template: {name: "shop-{{path.basename}}"}}]'
    assert [a.name for a in parse_apps(text, folders=FOLDERS)] == ["shop-dev", "shop-prod"]


def test_a_star_does_not_cross_folders():
    text = "generators: [{git: {directories: [apps/*]}}]"
    assert [a.path for a in parse_apps(text, folders=FOLDERS)] == ["apps/cart", "apps/shop"]


def test_the_app_name_rule_is_the_dag_params_rule():
    from delivery.params import APP_PATTERN as PARAM_PATTERN

    assert APP_PATTERN == PARAM_PATTERN


@pytest.mark.parametrize("text, where, says", [
    ("apps: [{name: Shop, path: apps/shop}]", "apps.yaml apps[0]", "not a valid app name"),
    ("apps: [{name: shop}]", "apps.yaml apps[0]", "has no path"),
    ("apps: [{name: shop, path: ../etc}]", "apps.yaml apps[0] (app 'shop')", "not a folder inside"),
    ("apps: [{name: shop, path: apps/shop, selfHeal: true}]", "apps.yaml apps[0]", "did you mean 'self_heal'"),
    ("apps: [{name: shop, path: apps/shop, automated: 'yes'}]", "apps.yaml apps[0] (app 'shop')", "not true or false"),
    ("apps: [{name: shop, path: apps/shop, revision: 'a b'}]", "apps.yaml apps[0] (app 'shop')", "not a valid Git"),
    ("apps: [{name: shop, path: apps/shop, namespace: Shop_Dev}]", "apps.yaml apps[0] (app 'shop')", "namespace"),
    ("apps: [{name: shop, path: a}, {name: shop, path: b}]", "apps.yaml apps[1]", "declared twice"),
    ("{apps: [{name: shop, path: a}], generators: [{git: {directories: 'apps/*/overlays/dev'}}]}",
     "generators[0].git folder apps/shop/overlays/dev", "declared twice (first at apps.yaml apps[0])"),
    ("generators: [{list: {elements: []}, git: {directories: 'apps/*'}}]", "apps.yaml generators[0]", "exactly one"),
    ("generators: [{matrix: {}}]", "apps.yaml generators[0]", "unknown key 'matrix'"),
    ("generators: [{git: {}}]", "apps.yaml generators[0].git", "directories must be a list"),
    ("generators: [{git: {directories: 'apps/*'}, template: {name: '{{path[5]}}'}}]", "generators[0].template",
     "points past"),
    ("apps: {shop: {path: apps/shop}}", "apps.yaml apps", "must be a list"),
    ("apps: [{name: shop, path: [unclosed", "apps.yaml", "not valid YAML"),
])
def test_errors_name_the_file_the_entry_and_the_fix(text, where, says):
    with pytest.raises(InputError) as err:
        parse_apps(text, folders=FOLDERS)
    assert where in err.value.what and says in str(err.value) and "Fix: " in str(err.value), str(err.value)


def test_the_source_names_the_commit_in_errors():
    with pytest.raises(InputError, match=re.escape("apps.yaml at 1a2b3c4d5e6f: ")):
        parse_apps("- just a list", source="apps.yaml at 1a2b3c4d5e6f")
