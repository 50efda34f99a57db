"""Service definitions: parsing, validation with locations, and all-or-nothing registration."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaia.errors import ConflictError, ServiceValidationError
from gaia.runtime import Runtime
from gaia.services.loader import load_service_file, load_services
from gaia.services.registry import ServiceRegistry
from gaia.services.spec import ServiceSpec

ORIGINAL = """
{"name": "api-server", "command": "go", "args": ["run", "cmd/server/main.go"], "port": 8080,
 "health_check": {"type": "http", "endpoint": "http://localhost:8080/health",
                  "interval": "30s", "timeout": "5s", "retries": 3},
 "auto_restart": true}
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(ServiceValidationError) as caught:
        load_services(text, source="svc.yaml")
    return [str(p) for p in caught.value.problems]


def test_original_json_works_as_written() -> None:
    """The original JSON definition loads with its command, health check and restart policy."""
    [spec] = load_services(ORIGINAL, source="api.json")
    assert spec.argv == ["go", "run", "cmd/server/main.go"]
    assert spec.port == 8080
    assert spec.health_check is not None
    assert (spec.health_check.interval, spec.health_check.timeout) == (30.0, 5.0)
    assert spec.health_endpoint == "http://localhost:8080/health"
    assert spec.restart_policy.policy == "on_failure"


def test_yaml_list_with_every_option() -> None:
    """A YAML list defines several services with restart, stop, env and dependencies."""
    specs = load_services(
        """
        - name: db
          command: postgres -D data
          port: 5432
          health_check: {type: tcp, interval: 1s, retries: 2, initial_delay: 500ms}
        - name: web
          command: npm run dev
          env: {PORT: 3000, DEBUG: true}
          depends_on: {db: healthy}
          restart: {policy: always, backoff: {initial: 0s}, max_restarts: 5, window: 30s}
          stop: {signal: int, timeout: 2s}
        - name: worker
          command: ./worker
          depends_on: [db]
        """.replace("\n        ", "\n"),
        source="stack.yaml",
    )
    db, web, worker = specs
    assert db.health_port == 5432
    assert web.argv == ["/bin/sh", "-c", "npm run dev"]
    assert web.env == {"PORT": "3000", "DEBUG": "true"}
    assert web.restart_policy.max_restarts == 5
    assert web.stop.signal == "SIGINT"
    assert worker.depends_on == {"db": "started"}
    assert worker.restart_policy.policy == "no"


def test_every_problem_is_reported_with_its_line_and_field() -> None:
    """Bad fields in several services are all reported, each with file:line:column."""
    problems = problems_of(
        "- name: db\n"
        "  command: postgres\n"
        "  health_check: {type: tcp}\n"
        "- name: web\n"
        "  command: npm run dev\n"
        "  restart: {policy: sometimes}\n"
        "  stop: {signal: SIGFOO}\n"
        "  bogus: 1\n"
    )
    assert problems == [
        "svc.yaml:1:3: service #1: a tcp health check needs 'port' (or the service's 'port')",
        "svc.yaml:6:13: service #2 restart.policy: Input should be 'no', 'on_failure' or "
        "'always' (got \"sometimes\") (use one of: no, on_failure, always)",
        "svc.yaml:7:10: service #2 stop.signal: unknown signal 'SIGFOO'; use e.g. SIGTERM, "
        'SIGINT, SIGQUIT (got "SIGFOO")',
        "svc.yaml:8:3: unknown field 'bogus' (known fields: args, auto_restart, command, cwd, "
        "depends_on, description, env, env_file, health_check, name, port, restart, start_seconds, "
        "stop)",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: a\n", "svc.yaml:1:1: the service is missing required field 'command'"),
        ("[1, 2]\n", "svc.yaml:1:2: each service must be a mapping"),
        ("name: a\ncommand: x\nport: 70000\n", "svc.yaml:3:1: the service port: Input should"),
        (
            "name: a\ncommand: x\nhealth_check: {type: http, endpoint: 'localhost:1/'}\n",
            "svc.yaml:3:1: the service health_check: endpoint must be an http:// or https:// URL",
        ),
        (
            "name: a\ncommand: x\nhealth_check: {type: exec}\n",
            "svc.yaml:3:1: the service health_check: an exec health check needs 'command'",
        ),
        ("name: a\ncommand: x\ndepends_on: {a: started}\n", "service 'a' depends on itself"),
        (
            "name: a\ncommand: x\ndepends_on: {b: ready}\n",
            "svc.yaml:3:14: the service depends_on.b: Input should be 'started', 'healthy' or "
            "'completed_successfully'",
        ),
        ("- {name: a, command: x}\n- {name: a, command: y}\n", "is defined twice"),
        ("name: a\n  command: x\n", "svc.yaml:2:10: YAML syntax error"),
    ],
)
def test_bad_definitions(text: str, expected: str) -> None:
    """Each malformed definition is rejected with a message that says what and where."""
    problems = problems_of(text)
    assert any(expected in p for p in problems), problems


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    """A file that cannot be read is reported as a validation problem naming the file."""
    with pytest.raises(ServiceValidationError, match="cannot read service file"):
        load_service_file(tmp_path / "nope.json")


def spec(name: str, **fields: object) -> ServiceSpec:
    return ServiceSpec.model_validate({"name": name, "command": "sleep 60", **fields})


def test_registration_is_all_or_nothing(runtime: Runtime) -> None:
    """A list with one bad dependency registers nothing, and says which field is wrong."""
    registry = ServiceRegistry(runtime.db)
    with pytest.raises(ServiceValidationError) as caught:
        registry.register(
            [spec("db"), spec("web", depends_on={"cache": "started"})], source="stack.yaml"
        )
    [problem] = caught.value.problems
    assert problem.path == "web.depends_on.cache"
    assert problem.message == "service 'web' depends on unknown service 'cache'"
    assert registry.list() == []


def test_cycles_across_registrations_are_refused(runtime: Runtime) -> None:
    """A cycle formed with already registered services is refused with its full path."""
    registry = ServiceRegistry(runtime.db)
    registry.register([spec("a"), spec("b", depends_on=["a"]), spec("c", depends_on=["b"])])
    with pytest.raises(ServiceValidationError) as caught:
        registry.register([spec("a", depends_on=["c"])], replace=True)
    assert [p.message for p in caught.value.problems] == ["dependency cycle: a -> c -> b -> a"]
    assert registry.get("a").spec.depends_on == {}


def test_healthy_condition_needs_a_health_check(runtime: Runtime) -> None:
    """Waiting for a service to be healthy requires that service to have a health check."""
    registry = ServiceRegistry(runtime.db)
    with pytest.raises(ServiceValidationError, match="has no health_check"):
        registry.register([spec("db"), spec("web", depends_on={"db": "healthy"})])


def test_register_get_list_unregister_and_start_order(runtime: Runtime) -> None:
    """Services are found by id or name, listed, ordered dependencies-first, and removed."""
    registry = ServiceRegistry(runtime.db)
    db, web = registry.register([spec("db", port=5432), spec("web", depends_on=["db"])])
    assert (db.state, db.health, db.desired_state) == ("stopped", "unknown", "stopped")
    assert registry.get(db.id).name == "db"
    assert registry.get("web").id == web.id
    assert [s.name for s in registry.list()] == ["db", "web"]
    assert registry.start_order(["web"]) == ["db", "web"]
    with pytest.raises(ConflictError, match="already registered: 'db'"):
        registry.register([spec("db")])
    with pytest.raises(ConflictError, match="'web' depend on it"):
        registry.unregister("db")
    registry.unregister("web")
    registry.unregister(db.id)
    assert registry.list() == []


def test_relative_paths_are_taken_from_the_file_and_the_cwd(tmp_path: Path) -> None:
    """A relative or absent cwd is the file's folder; a relative env_file the cwd's; ~ is home."""
    (tmp_path / "svc.yaml").write_text(
        "- {name: a, command: x, cwd: work, env_file: .env}\n"
        "- {name: b, command: x, env_file: conf/b.env}\n"
        "- {name: c, command: x, cwd: ~/src, env_file: /etc/c.env}\n"
        "- {name: d, command: x}\n"
    )
    a, b, c, d = load_service_file(tmp_path / "svc.yaml")
    base = tmp_path.resolve()
    assert (a.cwd, a.env_file) == (str(base / "work"), str(base / "work" / ".env"))
    assert (b.cwd, b.env_file) == (str(base), str(base / "conf" / "b.env"))
    assert (c.cwd, c.env_file) == (str(Path.home() / "src"), "/etc/c.env")
    assert (d.cwd, d.env_file) == (str(base), None)
    # Text without a file (the API without base_dir): relative to the home directory.
    [e] = load_services("{name: e, command: x, cwd: work}")
    assert e.cwd == str(Path.home() / "work")
