"""Real S3-compatible servers for tests, each in processes of its own on free
local ports, started once per run, reached by boto3 only through HTTP (the
test process never imports them):

- ``moto``: moto's standalone server (``python -m moto.server``, PyPI, the
  ``dev`` extra), an emulator of AWS's S3 REST API; always there.
- ``swift``: OpenStack Swift, a real object store (Debian's ``swift-proxy``,
  ``swift-account``, ``swift-container`` and ``swift-object``), one node with
  one replica, its S3 API (the ``s3api`` middleware) and ``tempauth``; the
  tests that use it are skipped where it is not installed (``.ci/run``
  installs it).

Each test of ``s3`` runs on both and gets a new empty bucket, and credentials
in the environment where boto3 looks for them."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REGION = "us-east-1"
SERVERS = ("moto", "swift")
SWIFT_PACKAGES = "swift-proxy swift-account swift-container swift-object"
# Listings of 100 keys (S3's 1,000 by default): paging is tested with a few
# hundred objects, which a one-node Swift on two cores writes in seconds.
SWIFT_PAGE = 100


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    """Whether an HTTP server answers at ``url``, whatever it answers."""
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


@dataclass
class Server:
    name: str
    endpoint: str
    access_key: str
    secret_key: str
    page: int  # the most keys one listing answers (S3's and moto's 1,000)


class Processes:
    """Processes started for one server, their output in a log file each."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.running: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, argv: list[str]) -> None:
        log = self.folder / f"{name}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.running.append((process, log))

    def wait_for(self, url: str, what: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not _answers(url):
            dead = [log for process, log in self.running if process.poll() is not None]
            if dead or time.monotonic() > deadline:
                logs = "\n".join(
                    f"== {log.name}\n{log.read_text(errors='replace')[-3000:]}" for _p, log in self.running
                )
                raise RuntimeError(f"{what} did not start:\n{logs}")
            time.sleep(0.1)

    def stop(self) -> None:
        for process, _log in self.running:
            process.terminate()
        for process, _log in self.running:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    processes = Processes(tmp_path_factory.mktemp("moto"))
    port = _free_port()
    try:
        processes.start("moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)])
        processes.wait_for(f"http://127.0.0.1:{port}/", "moto's server")
        yield Server("moto", f"http://127.0.0.1:{port}", "forum-test", "forum-test-secret", page=1000)
    finally:
        processes.stop()


RINGS = """
import sys
from swift.common.ring import RingBuilder

folder = sys.argv[1]
for name, port in zip(("account", "container", "object"), sys.argv[2:]):
    builder = RingBuilder(6, 1, 1)
    device = {"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": int(port), "device": "d1", "weight": 1}
    builder.add_dev(device)
    builder.rebalance()
    builder.get_ring().save(f"{folder}/{name}.ring.gz")
"""


def _swift_conf(folder: Path, name: str, port: int, swift_dir: Path, devices: Path) -> Path:
    head = (
        f"[DEFAULT]\nuser = {getpass.getuser()}\nbind_ip = 127.0.0.1\nbind_port = {port}\nworkers = 0\n"
        f"swift_dir = {swift_dir}\ndevices = {devices}\nmount_check = false\nlog_name = {name}\n"
    )
    if name == "proxy":
        # s3api before tempauth, which checks S3 signatures; the memcache
        # filter is required by tempauth and works (noisily) with no memcached.
        body = f"""
[pipeline:main]
pipeline = catch_errors gatekeeper proxy-logging cache listing_formats s3api tempauth
    copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:tempauth]
use = egg:swift#tempauth
user_forum_tester = testing .admin
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
max_bucket_listing = {SWIFT_PAGE}
[filter:cache]
use = egg:swift#memcache
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
"""
    else:
        body = f"[pipeline:main]\npipeline = {name}-server\n[app:{name}-server]\nuse = egg:swift#{name}\n"
    path = folder / f"{name}-server.conf"
    path.write_text(head + body)
    return path


@pytest.fixture(scope="session")
def swift_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    binaries = [shutil.which(f"swift-{n}-server") for n in ("proxy", "account", "container", "object")]
    builder = shutil.which("swift-ring-builder")
    if not all(binaries) or not builder or not Path("/etc/swift/swift.conf").is_file():
        pytest.skip(f"OpenStack Swift is not installed: apt-get install {SWIFT_PACKAGES}")
    # Swift's own Python (the builder's), which the venv's is not.
    python = Path(builder).read_text(errors="replace").splitlines()[0].removeprefix("#!").split()
    folder = tmp_path_factory.mktemp("swift")
    swift_dir, devices = folder / "etc", folder / "srv"
    swift_dir.mkdir()
    (devices / "d1").mkdir(parents=True)
    ports = {name: _free_port() for name in ("proxy", "account", "container", "object")}
    # The rings: one device, one replica, 2^6 partitions (what swift-ring-builder's
    # create, add and rebalance do, in one process instead of nine).
    subprocess.run(
        [*python, "-c", RINGS, str(swift_dir), *(str(ports[n]) for n in ("account", "container", "object"))],
        check=True,
        capture_output=True,
    )
    processes = Processes(folder)
    try:
        for name, port in ports.items():
            conf = _swift_conf(folder, name, port, swift_dir, devices)
            processes.start(name, [f"swift-{name}-server", str(conf), "-v"])
        for name, port in ports.items():
            processes.wait_for(f"http://127.0.0.1:{port}/", f"Swift's {name} server")
        yield Server("swift", f"http://127.0.0.1:{ports['proxy']}", "forum:tester", "testing", page=SWIFT_PAGE)
    finally:
        processes.stop()


@pytest.fixture(scope="session", params=SERVERS)
def s3_server(request: pytest.FixtureRequest) -> Server:
    """Each S3-compatible server in turn."""
    return request.getfixturevalue(f"{request.param}_server")  # type: ignore[no-any-return]


@dataclass
class S3:
    server: str  # "moto" or "swift"
    page: int
    endpoint: str
    bucket: str
    client: Any  # a boto3 S3 client, to look into the bucket behind the forum's back

    def names(self, prefix: str = "") -> set[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}


@pytest.fixture
def s3(s3_server: Server, monkeypatch: pytest.MonkeyPatch) -> S3:
    """A new empty bucket on the server, and credentials for it in the
    environment (where boto3 looks for them, as in production)."""
    import boto3

    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = boto3.session.Session().client("s3", endpoint_url=s3_server.endpoint, region_name=REGION)
    bucket = f"forum-test-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=bucket)
    return S3(server=s3_server.name, page=s3_server.page, endpoint=s3_server.endpoint, bucket=bucket, client=client)
