"""The sandbox's services as plain processes on this machine, for tests and benchmarks that need the real
thing without a cluster: MinIO, the DAG git server, a git-sync-style poller, Airflow's api-server +
dag-processor. Each is a context manager that starts the service on a free loopback port, waits until it
answers, and stops it (its whole process group) on exit.

The git poller stands in for git-sync, which the Go module proxy does not serve here: like git-sync v4 it
asks the remote for the branch head every `period`, fetches a new commit with depth 1 into a worktree of
its own and swaps a symlink to it atomically, so readers never see a half-updated tree.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from . import stackfiles
from .s3 import filesystem as s3_filesystem

ROOT = Path(__file__).resolve().parents[2]
STACK = stackfiles.STACK  # defaults.json + sandbox.json
TOOLS_BIN = Path(os.environ.get("TOOLS_BIN", ROOT / ".tools" / "bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{log.stem} did not start on port {port}:\n{tail(log)}") from None
            time.sleep(0.2)


def tail(log: Path, n: int = 3000) -> str:
    return log.read_text(errors="replace")[-n:] if log.exists() else ""


@contextlib.contextmanager
def processes(cmds: list[list[str]], env: dict, logs: list[Path]) -> Iterator[list[subprocess.Popen]]:
    """Start each command in its own process group; on exit TERM (then KILL) every group."""
    procs = []
    try:
        for cmd, log in zip(cmds, logs, strict=False):
            procs.append(
                subprocess.Popen(cmd, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
            )
        yield procs
    finally:
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def minio_bin() -> str:
    path = os.environ.get("MINIO_BIN") or str(TOOLS_BIN / "minio")
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f"MinIO server not found at {path}: run `hack/tools.sh minio` (pinned go install)")
    return path


@contextlib.contextmanager
def minio(
    workdir: Path,
    buckets: list[str] = (),
    port: int | None = None,
    user: str | None = None,
    password: str | None = None,
) -> Iterator[dict[str, str]]:
    """A MinIO server (fresh random credentials and port unless given). Yields the env a client needs (AWS_* for
    pyarrow/Spark s3a, AIRWAVE_S3_* for tests/support/s3.py)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port, console = port or free_port(), free_port()
    user, password = user or "airwave-" + secrets.token_hex(4), password or secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MINIO_"))}
    env.update(MINIO_ROOT_USER=user, MINIO_ROOT_PASSWORD=password, MINIO_BROWSER="off")
    log = workdir / "minio.log"
    cmd = [
        minio_bin(),
        "server",
        "--quiet",
        "--address",
        f"127.0.0.1:{port}",
        "--console-address",
        f"127.0.0.1:{console}",
        str(workdir / "data"),
    ]
    with processes([cmd], env, [log]) as (proc,):
        wait_port(port, proc, log)
        endpoint = f"http://127.0.0.1:{port}"
        client_env = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": user,
            "AWS_SECRET_ACCESS_KEY": password,
            "AWS_REGION": STACK["minio"]["region"],
            "AIRWAVE_S3_ENDPOINT": endpoint,
            "AIRWAVE_S3_ACCESS_KEY": user,
            "AIRWAVE_S3_SECRET_KEY": password,
        }
        fs = s3_filesystem(endpoint, (user, password))
        for b in buckets:
            fs.create_dir(b)
        yield client_env


def s3(env: dict[str, str], *args: str) -> str:
    """Run `python -m tests.support.s3` (as Tilt does) with a MinIO env from minio()."""
    r = subprocess.run(
        [sys.executable, "-m", "tests.support.s3", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if r.returncode:
        raise RuntimeError(f"tests.support.s3 {' '.join(args)} failed: {r.stdout}{r.stderr}")
    return r.stdout


@contextlib.contextmanager
def git_server(workdir: Path) -> Iterator[str]:
    """stack/git-server/server.py; yields the repo URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    port, gs = free_port(), STACK["git_server"]
    cmd = [
        sys.executable,
        str(ROOT / "stack/git-server/server.py"),
        "--root",
        str(workdir / "srv"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--repo",
        gs["repo"],
        "--branch",
        gs["branch"],
    ]
    log = workdir / "git-server.log"
    with processes([cmd], dict(os.environ), [log]) as (proc,):
        wait_port(port, proc, log)
        yield f"http://127.0.0.1:{port}/{gs['repo']}"


def working_tree(dest: Path) -> Path:
    """A copy of the parts hack/push-dags.sh reads (its lib.sh reads stack/sandbox/sandbox.json too): it pushes dags/ +
    src/ of the tree it lives in, so edits to the copy (e.g. a probe DAG) never touch the real checkout."""
    for part in ("hack", "dags", "src", "stack/sandbox"):
        shutil.copytree(ROOT / part, dest / part, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return dest


def push_dags(work: Path, url: str) -> float:
    """Run the copy's hack/push-dags.sh against `url` (mirror repo beside the copy); returns seconds taken."""
    t0 = time.monotonic()
    subprocess.run(
        [str(work / "hack/push-dags.sh"), url],
        check=True,
        capture_output=True,
        env={**os.environ, "DAGS_MIRROR": str(work.parent / f"{work.name}-mirror")},
    )
    return time.monotonic() - t0


def _git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@contextlib.contextmanager
def git_poller(url: str, root: Path, link: str = "repo", ref: str | None = None, period: float = 2.0) -> Iterator[Path]:
    """git-sync's loop (see the module doc). Yields root/link, the path readers use."""
    ref = ref or STACK["git_server"]["branch"]
    root.mkdir(parents=True, exist_ok=True)
    store = root / ".git"
    if not store.exists():
        _git("init", "-q", "--bare", str(store))
    stop = threading.Event()

    def sync_once(current: str | None) -> str | None:
        out = _git("ls-remote", url, f"refs/heads/{ref}").split()
        if not out or out[0] == current:
            return current
        head = out[0]
        _git("--git-dir", str(store), "fetch", "-q", "--depth", "1", url, head)
        tree = root / ".worktrees" / head
        if not tree.exists():
            _git("--git-dir", str(store), "worktree", "add", "-q", "--detach", str(tree), head)
        tmp = root / f".{link}.tmp"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(tree.relative_to(root))
        os.replace(tmp, root / link)  # atomic swap, like git-sync
        if current and current != head:
            shutil.rmtree(root / ".worktrees" / current, ignore_errors=True)
            _git("--git-dir", str(store), "worktree", "prune")
        return head

    def loop() -> None:
        current = None
        while not stop.is_set():
            try:
                current = sync_once(current)
            except subprocess.CalledProcessError:
                pass  # nothing pushed yet / server restarting: retry next period (git-sync --max-failures=-1)
            stop.wait(period)

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    try:
        yield root / link
    finally:
        stop.set()
        t.join(timeout=30)


def airflow_env(home: Path, dags_folder: Path, config: dict[str, str], extra: dict[str, str] | None = None) -> dict:
    """A clean Airflow env for this machine: `config` (e.g. the stack's airflow-env ConfigMap) decides auth and
    DAG pick-up; home, DAG folder, SQLite and LocalExecutor are local."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_"))}
    env.update(config)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(dags_folder),
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(32),
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
    )
    env.update(extra or {})
    return env


@contextlib.contextmanager
def airflow(
    home: Path,
    env: dict,
    passwords_json: str,
    user: str = "admin",
    password: str = "admin",
    components: tuple[str, ...] = ("dag-processor",),
):
    """`airflow db migrate`, then the api-server plus `components`; yields a logged-in client, the one `make e2e`
    uses (tests/support/sandbox.py: apache-airflow-client)."""
    from .sandbox import Airflow  # here: only this fixture needs the Airflow client

    home.mkdir(parents=True, exist_ok=True)
    (home / "passwords.json").write_text(passwords_json)  # what the api-server container's command does
    airflow_bin = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow_bin, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    port = free_port()
    cmds = [[airflow_bin, "api-server", "--port", str(port)]] + [[airflow_bin, c] for c in components]
    logs = [home / f"{c[1]}.log" for c in cmds]
    with processes(cmds, env, logs) as procs:
        deadline = time.monotonic() + 180
        while True:
            try:
                af = Airflow(f"http://127.0.0.1:{port}", user, password)
                break
            except OSError:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError(
                        "Airflow did not start:\n" + "\n".join(tail(log, 1500) for log in logs)
                    ) from None
                time.sleep(1)
        yield af


@contextlib.contextmanager
def apiserver(workdir: Path, port: int | None = None) -> Iterator[tuple[str, str, str]]:
    """etcd + kube-apiserver (RBAC, default admission plugins), no controllers or nodes: objects are stored and
    admitted, nothing runs. Yields (https URL, admin bearer token, CA file: the server's own self-signed cert)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    workdir.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # signs service-account tokens
    (workdir / "sa.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (workdir / "sa.pub").write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    token = secrets.token_hex(16)
    (workdir / "tokens.csv").write_text(f"{token},admin,admin,system:masters\n")
    etcd_port, peer_port, api_port = free_port(), free_port(), port or free_port()
    bins = {}
    for name in ("etcd", "kube-apiserver"):
        bins[name] = str(TOOLS_BIN / name)
        if not os.access(bins[name], os.X_OK):
            raise FileNotFoundError(f"{bins[name]} missing: run `hack/tools.sh apiserver`")
    etcd = [
        bins["etcd"],
        "--data-dir",
        str(workdir / "etcd"),
        "--listen-client-urls",
        f"http://127.0.0.1:{etcd_port}",
        "--advertise-client-urls",
        f"http://127.0.0.1:{etcd_port}",
        "--listen-peer-urls",
        f"http://127.0.0.1:{peer_port}",
        "--initial-advertise-peer-urls",
        f"http://127.0.0.1:{peer_port}",
        "--initial-cluster",
        f"default=http://127.0.0.1:{peer_port}",
    ]
    api = [
        bins["kube-apiserver"],
        "--etcd-servers",
        f"http://127.0.0.1:{etcd_port}",
        "--bind-address",
        "127.0.0.1",
        "--secure-port",
        str(api_port),
        "--cert-dir",
        str(workdir / "certs"),
        "--service-account-issuer",
        "https://kubernetes.default.svc",
        "--service-account-key-file",
        str(workdir / "sa.pub"),
        "--service-account-signing-key-file",
        str(workdir / "sa.key"),
        "--token-auth-file",
        str(workdir / "tokens.csv"),
        "--authorization-mode",
        "RBAC",
        "--service-cluster-ip-range",
        "10.96.0.0/16",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "ETCD"))}
    logs = [workdir / "etcd.log", workdir / "kube-apiserver.log"]
    with processes([etcd], env, logs[:1]) as (etcd_proc,):
        wait_port(etcd_port, etcd_proc, logs[0])
        with processes([api], env, logs[1:]) as (api_proc,):
            url = f"https://127.0.0.1:{api_port}"
            deadline = time.monotonic() + 120
            ca = workdir / "certs" / "apiserver.crt"  # self-signed, written at start-up
            while True:  # /readyz turns ok once RBAC's bootstrap roles and the system namespaces exist
                req = urllib.request.Request(f"{url}/readyz", headers={"Authorization": f"Bearer {token}"})
                try:
                    with urllib.request.urlopen(req, context=ssl.create_default_context(cafile=ca), timeout=5):
                        break
                except (OSError, ssl.SSLError):  # not listening / cert not written yet / 500 until ready
                    pass
                if api_proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"kube-apiserver did not get ready:\n{tail(logs[1])}")
                time.sleep(0.5)
            yield url, token, str(ca)
