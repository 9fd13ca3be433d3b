"""Run settings: their defaults, and the checks that make a bad one fail before any Spark cluster starts.

Every check raises `SettingsError` with a message that names the setting and the fix. The CLI turns it into exit
code 2 (as argparse does for a malformed command line); the Airflow operator and the DAG's `check_settings` task
turn it, and that exit code, into a failure that is not retried: no retry can make a bad setting good.
Pure (stdlib + airwave.storage): the Airflow worker, the CLI and the Spark driver all import it.

It is also the one place that reads the process environment: every `AIRWAVE_*` / `AWS_*` variable airwave reads is
a field of `Environment` (README, "Settings", lists the same ones; a test holds both to that).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import struct
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Any, cast

from . import storage

SETTINGS_ERROR_EXIT = 2
DEFAULT_ROLES = "left=agent,right=customer,mono=mixed"
MONO = -1  # key of the role given to single-channel recordings
# Sidecar files that live beside audio (reference manifests, notes) are not inputs; neither is anything in a hidden
# or `_` folder (what Spark itself would skip). Matched, case-insensitively, against every segment of the path.
DEFAULT_EXCLUDE = "*.json,*.md,*.txt,.*,_*"
# A whole input file is read and decoded in memory by one Python worker, so two limits bound what that takes:
# - size: above it a file is rejected as `too_large` without being read (64 MiB: ~35 min of 8 kHz 16-bit stereo WAV);
# - length: decoding stops, and the file is rejected as `too_long`, once it passes this many minutes, whatever the
#   codec packs into a MiB. bench/memory.py: a worker peaks at ~0.1 GB + ~22 MB a minute of stereo (1.4 GB for 58
#   min), so 30 min keeps two workers of the default 2-core preprocess cluster within its 2g executor's pod.
MAX_INPUT_MB, MAX_INPUT_ENV = 64, "AIRWAVE_MAX_INPUT_MB"
MAX_INPUT_MINUTES, MAX_MINUTES_ENV = 30, "AIRWAVE_MAX_INPUT_MINUTES"
# CTranslate2's compute types (https://opennmt.net/CTranslate2/quantization.html).
COMPUTE_TYPES = (
    "default",
    "auto",
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
)
CLUSTER_KEYS = ("executors", "executor_cores", "executor_memory", "driver_memory")
MIN_MEMORY_MB = 512  # below this Spark itself refuses to start an executor (it reserves 300 MiB)
REFERENCES_SCHEMA = "airwave.references/v1"
_ROLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


class SettingsError(ValueError):
    """A run setting that can never work. str(): what is wrong and how to fix it."""


# -- the process environment -----------------------------------------------------------------------------------
# Read here and only here; the modules take the values as arguments (or call environment() where they run: a
# Spark worker, a DAG file). An empty variable counts as unset.


def _positive_number(raw: str) -> float:
    v = float(raw)
    if not v > 0:
        raise ValueError("not a positive number")
    return v


def _cores(raw: str) -> int:
    if not raw.strip().isdigit():
        raise ValueError("not a number of cores (0: all)")
    return int(raw)


def _flag(raw: str) -> bool:
    if raw.strip().lower() not in ("true", "false"):
        raise ValueError("use true or false")
    return raw.strip().lower() == "true"


def _millicores(raw: str) -> int:
    m = re.fullmatch(r"(\d+)(m?)", raw.strip())
    if not m or int(m.group(1)) == 0:
        raise ValueError("must be a CPU quantity like 400m or 1")
    return int(m.group(1)) * (1 if m.group(2) else 1000)


def _json_list(raw: str) -> list[Any]:
    doc = json.loads(raw)  # JSONDecodeError is a ValueError
    if not isinstance(doc, list):
        raise ValueError("must be a JSON list")
    return doc


def _var(name: str, default: Any, doc: str, parse: Callable[[str], object] = str) -> Any:
    return field(default=default, metadata={"env": name, "doc": doc, "parse": parse})


@dataclass(frozen=True)
class Environment:
    """One field per variable: its name, default and what it does (README "Settings" is the same table)."""

    model: str = _var("AIRWAVE_MODEL", "", "default `--model`: a name or a folder; empty: tiny.en")
    models_dir: str = _var("AIRWAVE_MODELS_DIR", "", "folder of CTranslate2 Whisper models, one folder per name")
    max_input_mb: float = _var(MAX_INPUT_ENV, MAX_INPUT_MB, "default `--max-input-mb`", _positive_number)
    max_input_minutes: float = _var(
        MAX_MINUTES_ENV, MAX_INPUT_MINUTES, "default `--max-input-minutes`", _positive_number
    )
    spark_master: str = _var(
        "AIRWAVE_SPARK_MASTER", "", "Spark master of a stage run without spark-submit; empty: local mode"
    )
    spark_cores: int = _var("AIRWAVE_SPARK_CORES", 0, "cores of that local mode; 0: all", _cores)
    driver_memory: str = _var("AIRWAVE_DRIVER_MEMORY", "2g", "driver memory of a stage run without spark-submit")
    spark_log_level: str = _var("AIRWAVE_SPARK_LOG_LEVEL", "WARN", "Spark's log level in a stage")
    spark_jars: str = _var(
        "AIRWAVE_SPARK_JARS",
        "",
        "jars or folders of jars for local Spark (s3a: hadoop-aws and the AWS SDK, `hack/tools.sh jars`)",
    )
    jvm_archive_dir: str = _var(
        "AIRWAVE_JVM_ARCHIVE_DIR",
        "",
        "folder of local Spark drivers' class-data archive (spark.py); empty: <XDG_CACHE_HOME>/airwave/jvm; off: none",
    )
    spark_backend: str = _var(
        "AIRWAVE_SPARK_BACKEND",
        "local",
        "SparkClusterOperator backend, local or kubernetes (the Airflow Variable airwave_spark_backend wins)",
    )
    k8s_in_cluster: bool = _var(
        "AIRWAVE_K8S_IN_CLUSTER",
        True,
        "kubernetes backend: Airflow runs in the cluster (false: use the kubeconfig)",
        _flag,
    )
    spark_image: str = _var(
        "AIRWAVE_SPARK_IMAGE",
        "",
        "Spark image of driver and executor pods; empty: the package's (on kind: the scheduler sets Tilt's build)",
    )
    spark_cpu_request_millis: int = _var(
        "AIRWAVE_SPARK_CPU_REQUEST_PER_CORE",
        1000,
        "CPU request of the driver pod and of each executor core, e.g. 400m or 1",
        _millicores,
    )
    executor_pod_template: str = _var(
        "AIRWAVE_EXECUTOR_POD_TEMPLATE",
        "",
        "internal: a task's executor pod template (JSON), set by the operator on its driver pod",
    )
    s3_conn_id: str = _var(
        "AIRWAVE_S3_CONN_ID", "", "Airflow connection (type aws) for the Spark tasks' S3; empty: the sandbox's MinIO"
    )
    input: str = _var("AIRWAVE_INPUT", "", "DAGs' default input; empty: sample_data/")
    runs_base: str = _var("AIRWAVE_RUNS_BASE", "", "DAG runs write under <runs_base>/runs/<run_id>/; empty: out/")
    refs: str = _var("AIRWAVE_REFS", "", "DAGs' default reference manifest; empty: <input>/manifest.json")
    retention_policies: list[Any] | None = _var(
        "AIRWAVE_RETENTION_POLICIES",
        None,
        "audio_retention's default policies (JSON list); empty: run intermediates after 14 days",
        _json_list,
    )
    raw_prefix: str = _var("AIRWAVE_RAW_PREFIX", "", "production_sampling's source; empty: sample_data/")
    eval_prefix: str = _var("AIRWAVE_EVAL_PREFIX", "", "production_sampling's destination; empty: out/eval")
    aws_endpoint_url: str = _var("AWS_ENDPOINT_URL", "", "S3-compatible endpoint (MinIO), path-style; empty: AWS")
    aws_endpoint_url_s3: str = _var("AWS_ENDPOINT_URL_S3", "", "the same, when AWS_ENDPOINT_URL is empty")
    aws_region: str = _var("AWS_REGION", "us-east-1", "S3 region (request signing)")
    xdg_cache_home: str = _var("XDG_CACHE_HOME", "", "per-user cache folder (freedesktop.org); empty: ~/.cache")

    @classmethod
    def from_environ(cls, env: Mapping[str, str] = os.environ) -> Environment:
        values = {}
        for f in fields(cls):
            name, raw = f.metadata["env"], env.get(f.metadata["env"], "")
            if raw.strip():
                try:
                    values[f.name] = f.metadata["parse"](raw)
                except ValueError as e:
                    raise SettingsError(f"{name}={raw!r}: {e}; fix or unset it (README, Settings)") from None
        return cls(**values)

    @classmethod
    def variable(cls, name: str) -> str:
        """The variable behind a field: Environment.variable("spark_image") == "AIRWAVE_SPARK_IMAGE"."""
        return cast(str, next(f.metadata["env"] for f in fields(cls) if f.name == name))

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Every variable airwave reads -> what it does."""
        return {f.metadata["env"]: f.metadata["doc"] for f in fields(cls)}

    @property
    def s3_endpoint(self) -> str:
        return self.aws_endpoint_url or self.aws_endpoint_url_s3

    @property
    def jvm_archive_folder(self) -> str:
        """AIRWAVE_JVM_ARCHIVE_DIR, else airwave's folder in the user's cache (as hack/lib.sh's AIRWAVE_CACHE)."""
        cache = self.xdg_cache_home or os.path.join(os.path.expanduser("~"), ".cache")
        return self.jvm_archive_dir or os.path.join(cache, "airwave", "jvm")


def environment() -> Environment:
    """This process's settings from its environment, read now: tests and the kind stack set variables at run time."""
    return Environment.from_environ(os.environ)


def apply_env(target: MutableMapping[str, str], overrides: Mapping[str, str | None]) -> MutableMapping[str, str]:
    """Set each of `overrides` in `target` (an environment); None unsets it."""
    for k, v in overrides.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = v
    return target


@contextmanager
def environment_overridden(overrides: Mapping[str, str | None]) -> Iterator[None]:
    """This process's environment with `overrides` until the block ends: for a check here that must see the object
    store the Spark job will see."""
    saved = {k: os.environ.get(k) for k in overrides}
    apply_env(os.environ, overrides)
    try:
        yield
    finally:
        apply_env(os.environ, saved)


def parse_roles(spec: str) -> dict[int, str]:
    """'left=agent,right=customer,mono=mixed' (or '0=agent,1=customer') -> {0: 'agent', 1: 'customer', -1: 'mixed'}."""
    names = {"left": 0, "right": 1, "mono": MONO}
    example = "e.g. left=agent,right=customer,mono=mixed"
    roles: dict[int, str] = {}
    items = [s.strip() for s in str(spec).split(",") if s.strip()]
    if not items:
        raise SettingsError(f"roles {spec!r} is empty: map channels to roles, {example}")
    for item in items:
        key, eq, role = (x.strip() for x in item.partition("="))
        if not eq or not role:
            raise SettingsError(f"roles: {item!r} is not CHANNEL=ROLE; {example}")
        if not _ROLE_NAME.fullmatch(role):
            raise SettingsError(
                f"roles: {role!r} is not a role name (a letter, then letters, digits, _ or -); "
                f"separate mappings with ',', {example}"
            )
        k = key.lower()
        if k not in names and not k.isdigit():
            raise SettingsError(
                f"roles: unknown channel {key!r}: use left, right, mono or a channel number (0, 1, ...)"
            )
        ch = names[k] if k in names else int(k)
        if ch in roles:
            raise SettingsError(f"roles: channel {key!r} is mapped twice ({roles[ch]!r} and {role!r}); keep one")
        roles[ch] = role
    return roles


def exclude_patterns(exclude: str) -> list[str]:
    return [p.strip().lower() for p in str(exclude).split(",") if p.strip()]


def is_excluded(rel: str, patterns: list[str]) -> bool:
    """True when a file (path relative to the input root) or one of its folders matches an exclude glob."""
    return any(fnmatch.fnmatchcase(seg.lower(), p) for seg in rel.split("/") for p in patterns)


def _positive(value: float | str | None, env: str, default: float, what: str, flag: str) -> float:
    raw = value if value not in (None, "") else default
    try:
        v = float(raw)
    except (TypeError, ValueError):
        v = -1
    if not v > 0:
        raise SettingsError(f"max input {what} {raw!r} is not a positive number: set {flag} or {env} to e.g. {default}")
    return v


def max_input_bytes(mb: float | str | None = None) -> int:
    """The size limit in bytes: `mb`, else $AIRWAVE_MAX_INPUT_MB, else MAX_INPUT_MB."""
    default = environment().max_input_mb
    return int(_positive(mb, MAX_INPUT_ENV, default, "size (MiB)", "--max-input-mb") * 1024 * 1024)


def max_input_seconds(minutes: float | str | None = None) -> float:
    """The length limit in seconds: `minutes`, else $AIRWAVE_MAX_INPUT_MINUTES, else MAX_INPUT_MINUTES."""
    default = environment().max_input_minutes
    return _positive(minutes, MAX_MINUTES_ENV, default, "length (minutes)", "--max-input-minutes") * 60


def check_location(uri: str, what: str) -> str:
    try:
        return storage.normalize(str(uri))
    except ValueError as e:
        raise SettingsError(f"{what}: {e}") from None


def check_input(uri: str, exclude: str = DEFAULT_EXCLUDE) -> int:
    """The input exists and holds at least one file that is not excluded. Returns how many it holds."""
    root = check_location(uri, "input")
    try:
        entries = storage.list_inputs(root)
    except FileNotFoundError:
        raise SettingsError(
            f"input {uri}: no such folder, prefix or file; point input (AIRWAVE_INPUT, the DAG "
            "param `input`, or `airwave run INPUT`) at the recordings"
        ) from None
    except OSError as e:
        raise SettingsError(f"input {uri} cannot be listed ({e}); check the location and its credentials") from None
    if not entries:
        raise SettingsError(f"input {uri} holds no files; put the recordings there or point input elsewhere")
    pats = exclude_patterns(exclude)
    n = sum(not is_excluded(storage.relative(e.uri, root), pats) for e in entries)
    if n == 0:
        raise SettingsError(
            f"input {uri} holds no audio: all its {len(entries)} files match the exclude globs "
            f"({exclude}); add recordings, or change --exclude"
        )
    return n


def check_out_apart(out: str, inp: str) -> None:
    """The run location may not lie inside the input: the next run would take this run's outputs for recordings."""
    o, i = check_location(out, "out").rstrip("/"), check_location(inp, "input").rstrip("/")
    if o == i or o.startswith(i + "/"):
        raise SettingsError(
            f"out {out} is inside the input {inp}: a rerun would read its own outputs as inputs; "
            "put the results elsewhere"
        )


def check_refs(uri: str) -> dict[str, Any]:
    """A reference manifest: {"schema": "airwave.references/v1", "calls": {NAME: {"channels": {ROLE: TEXT}}}}."""
    check_location(uri, "refs")
    fix = f"see sample_data/manifest.json for the format ({REFERENCES_SCHEMA})"
    try:
        doc = json.loads(storage.read_bytes(uri))
    except FileNotFoundError:
        raise SettingsError(f"refs {uri}: no such file; pass an existing reference manifest or none") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SettingsError(f"refs {uri} is not valid JSON ({e}); {fix}") from None
    except OSError as e:
        raise SettingsError(f"refs {uri} cannot be read ({e})") from None
    if not isinstance(doc, dict) or doc.get("schema", REFERENCES_SCHEMA) != REFERENCES_SCHEMA:
        raise SettingsError(f'refs {uri}: not a reference manifest ("schema" must be {REFERENCES_SCHEMA!r}); {fix}')
    calls = doc.get("calls")
    if not isinstance(calls, dict):
        raise SettingsError(f'refs {uri}: "calls" must be an object of call name -> channels; {fix}')
    for name, call in calls.items():
        channels = call.get("channels") if isinstance(call, dict) else None
        if (
            not isinstance(channels, dict)
            or not channels
            or not all(isinstance(r, str) and isinstance(t, str) for r, t in channels.items())
        ):
            raise SettingsError(f'refs {uri}: call {name!r} needs "channels": {{ROLE: reference text}}; {fix}')
    if not isinstance(doc.get("silent", []), list) or not isinstance(doc.get("rejects", {}), dict):
        raise SettingsError(f'refs {uri}: "silent" must be a list and "rejects" an object; {fix}')
    return doc


def positive_int(name: str, value: object, minimum: int = 1) -> int:
    """An int >= minimum; strings of digits (templated DAG params) count, booleans and floats do not."""
    v = value.strip() if isinstance(value, str) else value
    if isinstance(v, str) and re.fullmatch(r"[+-]?\d+", v):
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise SettingsError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return v


DEVICES = ("cpu", "cuda")


def default_compute_type(device: str) -> str:
    return "float16" if device == "cuda" else "int8"


def check_asr(
    beam_size: object = 1,
    compute_type: str | None = None,
    batch_size: object = 8,
    cpu_threads: object = 0,
    device: str = "cpu",
    probe: bool = True,
    encoder_pad_s: float | str | None = None,
) -> None:
    """`compute_type` None or empty: the device's default. `encoder_pad_s` None: asr.AsrConfig's default (valid).
    `probe`: also ask CTranslate2 whether a CUDA device is there (not where the check runs elsewhere than the model,
    e.g. an Airflow scheduler pod checking for a Spark driver pod)."""
    compute_type = compute_type or default_compute_type(device)
    positive_int("beam_size", beam_size)
    positive_int("batch_size", batch_size)
    positive_int("cpu_threads", cpu_threads, minimum=0)
    if compute_type not in COMPUTE_TYPES:
        raise SettingsError(
            f"compute_type {compute_type!r} is not a CTranslate2 compute type; use one of "
            f"{', '.join(COMPUTE_TYPES)} (int8 is the CPU default)"
        )
    try:
        pad_ok = encoder_pad_s is None or 0 <= float(encoder_pad_s) <= 30
    except (TypeError, ValueError):
        pad_ok = False
    if not pad_ok:
        raise SettingsError(f"encoder_pad_s {encoder_pad_s!r}: 0 (full 30 s windows) up to 30 seconds")
    if device not in DEVICES:
        raise SettingsError(f"device {device!r}: use one of {', '.join(DEVICES)}")
    if device == "cuda" and probe:
        import ctranslate2

        if ctranslate2.get_cuda_device_count() < 1:
            raise SettingsError(
                "device cuda: CTranslate2 sees no CUDA device here (driver, CUDA 12 libraries and "
                "cuDNN 9 are needed); use --device cpu"
            )


def check_model_folder(path: str) -> None:
    """A CTranslate2 export of a Whisper model: model.bin says WhisperSpec; config.json and tokenizer.json exist
    (without tokenizer.json faster-whisper would try to download one)."""
    fix = "convert one with ct2-transformers-converter, or use tiny.en"
    missing = [f for f in ("model.bin", "config.json", "tokenizer.json") if not os.path.isfile(os.path.join(path, f))]
    if missing:
        raise SettingsError(f"model folder {path} lacks {', '.join(missing)}: not a CTranslate2 Whisper model; {fix}")
    with open(os.path.join(path, "model.bin"), "rb") as f:  # header: u32 version, u16 length, spec name
        head = f.read(64)
    name = ""
    if len(head) >= 6:
        n = struct.unpack_from("<H", head, 4)[0]
        name = head[6 : 6 + n].rstrip(b"\0").decode("ascii", "replace")
    if name != "WhisperSpec":
        raise SettingsError(
            f"model folder {path}: model.bin is {'a ' + name if name else 'not a CTranslate2'} "
            f"model, not Whisper; {fix}"
        )
    try:
        json.loads(open(os.path.join(path, "config.json"), "rb").read())
    except ValueError as e:
        raise SettingsError(f"model folder {path}: config.json is not valid JSON ({e}); {fix}") from None


def mebibytes(mem: str) -> int:
    """Spark memory notation ("512m", "2g") in MiB."""
    m = re.fullmatch(r"(\d+)([kmgt]?)b?", str(mem).strip().lower())
    if not m:
        raise ValueError(f"memory must look like 512m or 2g, got {mem!r}")
    n, unit = int(m.group(1)), m.group(2)
    return {"k": n // 1024, "": n // (1024 * 1024), "m": n, "g": n * 1024, "t": n * 1024 * 1024}[unit]


def check_memory(name: str, mem: object) -> int:
    try:
        mb = mebibytes(str(mem))  # mebibytes takes str() of it anyway
    except ValueError:
        mb = -1
    if mb < MIN_MEMORY_MB:
        raise SettingsError(f"{name} must be Spark memory of at least {MIN_MEMORY_MB}m (e.g. 2g), got {mem!r}")
    return mb


def key_problems(missing: list[str], unknown: list[str]) -> str:
    """'missing a, b; unknown c' (either part left out when it has no keys)."""
    parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
        [f"unknown {', '.join(unknown)}"] if unknown else []
    )
    return "; ".join(parts)


def check_cluster(name: str, cluster: object) -> dict[str, Any]:
    """A stage's cluster param: exactly executors, executor_cores, executor_memory, driver_memory."""
    if not isinstance(cluster, dict):
        raise SettingsError(f"{name} must be an object with {', '.join(CLUSTER_KEYS)}, got {cluster!r}")
    missing = [k for k in CLUSTER_KEYS if k not in cluster]
    unknown = sorted(set(cluster) - set(CLUSTER_KEYS))
    if missing or unknown:
        raise SettingsError(f"{name}: {key_problems(missing, unknown)} (keys: {', '.join(CLUSTER_KEYS)})")
    positive_int(f"{name}.executors", cluster["executors"])
    positive_int(f"{name}.executor_cores", cluster["executor_cores"])
    check_memory(f"{name}.executor_memory", cluster["executor_memory"])
    check_memory(f"{name}.driver_memory", cluster["driver_memory"])
    return cluster


def options(argv: list[str]) -> dict[str, str]:
    """`--opt value` / `--opt=value` pairs of an airwave command line."""
    out, i = {}, 0
    while i < len(argv):
        a = str(argv[i])
        if a.startswith("--"):
            k, eq, v = a[2:].partition("=")
            if not eq and i + 1 < len(argv) and not str(argv[i + 1]).startswith("--"):
                v, i = str(argv[i + 1]), i + 1
            out[k] = v
        i += 1
    return out


def check_stage_args(argv: list[str], model: bool = True) -> None:
    """The settings an airwave command line carries (what the operator hands to spark-submit), checked before it
    runs. `model=False` where the model lives elsewhere (in the Spark image, for the Kubernetes backend)."""
    o = options(argv)
    for key in ("out", "chunks-from"):
        if key in o:
            check_location(o[key], key)
    if "input" in o:
        check_input(o["input"], o.get("exclude", DEFAULT_EXCLUDE))
        if "out" in o:
            check_out_apart(o["out"], o["input"])
    if "roles" in o:
        parse_roles(o["roles"])
    if "max-input-mb" in o:
        max_input_bytes(o["max-input-mb"])
    if "max-input-minutes" in o:
        max_input_seconds(o["max-input-minutes"])
    if "refs" in o:
        check_refs(o["refs"])
    device = o.get("device", "cpu")
    check_asr(
        o.get("beam-size", 1),
        o.get("compute-type"),
        o.get("batch-size", 8),
        o.get("cpu-threads", 0),
        device=device,
        probe=model,
        encoder_pad_s=o.get("encoder-pad-s"),
    )
    if model and o.get("model"):
        from .asr import resolve_model

        resolve_model(o["model"])


def check_run(params: dict[str, Any], model: bool = True) -> None:
    """The asr_pipeline DAG's params, all at once, before its first Spark cluster. `refs` that does not exist means
    "no evaluation" (the DAG skips it); one that exists must be a valid manifest."""
    check_input(params["input"])
    check_out_apart(params["runs_base"], params["input"])
    parse_roles(params["roles"])
    refs = params.get("refs")
    if refs and storage.exists(refs):
        check_refs(refs)
    device = params.get("device") or "cpu"
    check_asr(params.get("beam_size") or 1, params.get("compute_type"), device=device, probe=model)
    for stage in ("preprocess", "transcribe", "postprocess"):
        check_cluster(f"{stage}_cluster", params[f"{stage}_cluster"])
    if model and params.get("model"):
        from .asr import resolve_model

        resolve_model(params["model"])
