"""The Templates views in a real browser on a real daemon: list, the variables form,
preview (a dry run: nothing written), generate (checked on disk), errors at their field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.api.test_workflows_api import Server
from tests.dashboard.conftest import Dashboard, api

TEMPLATE = """\
name: demo-service
description: A small service with its configuration file
version: "0.1.0"
language: python
variables:
  - name: service_name
    description: the service's name
    required: true
    pattern: "^[a-z][a-z0-9-]*$"
  - name: port
    type: int
    default: 8080
    description: the port it listens on
  - name: debug
    type: bool
    default: false
  - name: tier
    type: choice
    choices: [dev, prod]
    default: dev
files:
  - path: "{{ service_name }}/config.toml"
    template: |
      name = "{{ service_name }}"
      port = {{ port }}
      debug = {{ debug | lower }}
      tier = "{{ tier }}"
  - path: README.md
    template: "# {{ service_name }}\\n"
hooks:
  post_generate:
    - echo hooked > hook-ran.txt
"""


@pytest.fixture(scope="module")
def demo_template(server: Server, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A registered template with a variable of each type and a hook."""
    directory = tmp_path_factory.mktemp("demo-template")
    (directory / "template.yaml").write_text(TEMPLATE)
    view = api(server, "POST", "/templates", json={"path": str(directory), "replace": True})
    return str(view["name"])


def test_the_list_shows_templates_with_description_and_variables(
    dashboard: Dashboard, server: Server, demo_template: str, tmp_path: Path
) -> None:
    page = dashboard.goto("/templates")
    row = page.locator(f'tr[data-template="{demo_template}"]')
    expect(row).to_contain_text("A small service with its configuration file")
    for name in ("service_name", "port", "debug", "tier"):
        expect(row.locator(f'li[data-variable="{name}"]')).to_be_visible()
    expect(row.locator('li[data-variable="service_name"]')).to_contain_text("required")
    expect(page.locator('tr[data-template="python-package"]')).to_be_visible()
    dashboard.shot("templates")

    # A template registered while the page is open shows up without a reload.
    later = tmp_path / "later"
    later.mkdir()
    (later / "template.yaml").write_text(
        "name: later-one\ndescription: registered while watched\n"
        "files:\n  - path: a.txt\n    template: a\n"
    )
    api(server, "POST", "/templates", json={"path": str(later), "replace": True})
    expect(page.locator('tr[data-template="later-one"]')).to_contain_text(
        "registered while watched"
    )
    row.get_by_role("link", name=demo_template).click()
    expect(page).to_have_url(f"{dashboard.url}/templates/{demo_template}")
    expect(page.get_by_role("status")).to_have_text("live")


def test_preview_lists_the_files_then_generate_writes_them(
    dashboard: Dashboard, demo_template: str, tmp_path: Path
) -> None:
    target = tmp_path / "out"
    page = dashboard.goto(f"/templates/{demo_template}")
    # The variables as a form: each by its type, with its help.
    expect(page.locator("#var-port")).to_have_attribute("type", "number")
    expect(page.locator("#var-port")).to_have_attribute("placeholder", "8080")
    expect(page.locator("#var-debug")).to_have_attribute("type", "checkbox")
    expect(page.locator("#var-tier option")).to_have_text(["dev", "prod"])
    expect(page.locator("#help-port")).to_contain_text("the port it listens on")
    expect(page.locator("#help-service_name")).to_contain_text("required")
    generate = page.get_by_role("button", name="Generate")
    expect(generate).to_be_disabled()

    page.get_by_label("service_name").fill("billing")
    page.get_by_label("port").fill("9090")
    page.get_by_label("tier").select_option("prod")
    page.get_by_label("Directory").fill(str(target))
    page.get_by_role("button", name="Preview").click()
    files = page.get_by_role("list", name="Files that would be written")
    expect(files.get_by_role("button")).to_have_text(["billing/config.toml", "README.md"])
    files.get_by_role("button", name="billing/config.toml").click()
    expect(page.locator("#file-content")).to_contain_text("port = 9090")
    expect(page.locator("#file-content")).to_contain_text('tier = "prod"')
    files.get_by_role("button", name="README.md").click()
    expect(page.locator("#file-content")).to_have_text("# billing\n")
    expect(page.locator("#scaffold-outcome")).to_contain_text("echo hooked > hook-ran.txt")
    assert not target.exists(), "a preview writes nothing"
    files.get_by_role("button", name="billing/config.toml").click()
    page.locator("#scaffold-outcome").scroll_into_view_if_needed()
    dashboard.shot("template")

    # A change after the preview asks for a new one before anything is written.
    page.get_by_label("port").fill("9091")
    expect(generate).to_be_disabled()
    page.get_by_role("button", name="Preview").click()
    expect(generate).to_be_enabled()
    generate.click()
    written = page.get_by_role("list", name="Files written")
    expect(written).to_contain_text("billing/config.toml")
    expect(page.get_by_role("list", name="Hooks run")).to_contain_text("echo hooked")
    config = (target / "billing" / "config.toml").read_text()
    assert config == textwrap.dedent("""\
        name = "billing"
        port = 9091
        debug = false
        tier = "prod"
        """)
    assert (target / "README.md").read_text() == "# billing\n"
    assert (target / "hook-ran.txt").read_text().strip() == "hooked"


def test_a_bad_variable_or_directory_is_shown_at_its_field(
    dashboard: Dashboard, demo_template: str, tmp_path: Path
) -> None:
    page = dashboard.goto(f"/templates/{demo_template}")
    page.get_by_label("service_name").fill("Not A Name")
    page.get_by_label("Directory").fill(str(tmp_path / "never"))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#err-service_name")).to_contain_text("must match")
    expect(page.locator("#var-service_name")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("button", name="Generate")).to_be_disabled()

    page.get_by_label("service_name").fill("fine")
    page.get_by_label("Directory").fill("relative/dir")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#err-path")).to_contain_text("absolute")
    expect(page.locator("#err-service_name")).to_have_text("")
    assert not (tmp_path / "never").exists()


def test_a_path_that_would_leave_the_directory_is_refused_and_shown(
    dashboard: Dashboard, server: Server, tmp_path: Path
) -> None:
    """The engine refuses a file outside the named directory; the page shows where."""
    source = tmp_path / "loose"
    source.mkdir()
    (source / "template.yaml").write_text(
        "name: loose\n"
        "variables:\n  - name: folder\n    required: true\n"
        "files:\n  - path: '{{ folder }}/escaped.txt'\n    template: out\n"
    )
    api(server, "POST", "/templates", json={"path": str(source), "replace": True})
    target = tmp_path / "project"
    page = dashboard.goto("/templates/loose")
    page.get_by_label("folder").fill("../..")
    page.get_by_label("Directory").fill(str(target))
    page.get_by_role("button", name="Preview").click()
    problems = page.get_by_role("list", name="Problems")
    expect(problems).to_contain_text("leaves the project directory")
    expect(problems).to_contain_text("template.yaml:6:")
    expect(page.get_by_role("button", name="Generate")).to_be_disabled()
    assert not target.exists()
    assert not (tmp_path.parent / "escaped.txt").exists()
