"""Settings from the environment: read in settings.py only, typed, and the README's table lists exactly them."""

import re

import pytest

from airwave import settings
from airwave.cluster.specs import stack
from airwave.settings import Environment, SettingsError
from testlib import ROOT

# Uses of the process environment outside settings.py that read no AIRWAVE_*/AWS_* variable: PySpark's own
# variables, the JAVA_HOME and SPARK_HOME spark-submit runs with, and the whole environment handed on to spark-submit.
ALLOWED = re.compile(
    r'os\.environ\.setdefault\("PYSPARK_|"PYSPARK_GATEWAY_PORT" in os\.environ|dict\(os\.environ\b'
    r'|os\.environ\.get\("(JAVA|SPARK)_HOME"\)'
)
ENV_USE = re.compile(r"\b(environ|getenv)\b")
NAMED_READ = re.compile(r"""(\.get\(|\[)\s*["'](AIRWAVE|AWS)_""")  # e.g. env.get("AIRWAVE_X") on a copy


def test_only_settings_reads_the_environment():
    offenders = []
    for path in sorted([*(ROOT / "src").rglob("*.py"), *(ROOT / "dags").rglob("*.py")]):
        if path == ROOT / "src" / "airwave" / "settings.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if (ENV_USE.search(line) and not ALLOWED.search(line)) or NAMED_READ.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == [], "read it through airwave.settings.environment():\n" + "\n".join(offenders)


def test_readme_settings_table_lists_exactly_the_variables():
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `((?:AIRWAVE|AWS|XDG)_\w+)` \|", section, re.M)
    assert len(documented) == len(set(documented)), "a variable is listed twice"
    assert set(documented) == set(Environment.variables())


def test_defaults_types_and_empty_values():
    assert Environment.from_environ({}) == Environment()
    assert Environment.from_environ({"AIRWAVE_MODEL": "", "AWS_REGION": " "}) == Environment()  # empty = unset
    env = Environment.from_environ(
        {
            "AIRWAVE_MAX_INPUT_MB": "8",
            "AIRWAVE_SPARK_CORES": "3",
            "AIRWAVE_K8S_IN_CLUSTER": "False",
            "AIRWAVE_SPARK_CPU_REQUEST_PER_CORE": "250m",
            "AIRWAVE_RETENTION_POLICIES": '[{"prefix": "s3a://raw"}]',
            "AWS_ENDPOINT_URL_S3": "http://minio:9000",
        }
    )
    assert (env.max_input_mb, env.spark_cores, env.k8s_in_cluster, env.spark_cpu_request_millis) == (8.0, 3, False, 250)
    assert env.retention_policies == [{"prefix": "s3a://raw"}] and env.s3_endpoint == "http://minio:9000"
    assert Environment.from_environ({"AIRWAVE_SPARK_CPU_REQUEST_PER_CORE": "2"}).spark_cpu_request_millis == 2000


def test_the_jvm_archive_goes_to_the_user_cache_unless_a_folder_is_set(monkeypatch):
    monkeypatch.setenv("HOME", "/home/u")
    assert Environment.from_environ({}).jvm_archive_folder == "/home/u/.cache/airwave/jvm"
    assert Environment.from_environ({"XDG_CACHE_HOME": "/c"}).jvm_archive_folder == "/c/airwave/jvm"
    both = {"XDG_CACHE_HOME": "/c", "AIRWAVE_JVM_ARCHIVE_DIR": "/a"}
    assert Environment.from_environ(both).jvm_archive_folder == "/a"
    assert Environment.from_environ({"AIRWAVE_JVM_ARCHIVE_DIR": "off"}).jvm_archive_folder == "off"


@pytest.mark.parametrize(
    "name, value",
    [
        ("AIRWAVE_MAX_INPUT_MB", "lots"),
        ("AIRWAVE_MAX_INPUT_MINUTES", "-1"),
        ("AIRWAVE_SPARK_CORES", "two"),
        ("AIRWAVE_K8S_IN_CLUSTER", "maybe"),
        ("AIRWAVE_SPARK_CPU_REQUEST_PER_CORE", "0"),
        ("AIRWAVE_RETENTION_POLICIES", "{not json"),
        ("AIRWAVE_RETENTION_POLICIES", "{}"),
    ],
)
def test_a_bad_value_names_its_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        Environment.from_environ({name: value})


def test_environment_is_read_when_asked(monkeypatch):
    monkeypatch.setenv("AIRWAVE_MAX_INPUT_MINUTES", "2")
    assert settings.max_input_seconds() == 120 and settings.max_input_seconds(1) == 60  # an argument wins
    with settings.environment_overridden({"AIRWAVE_MAX_INPUT_MINUTES": None, "AWS_REGION": "eu-west-1"}):
        assert settings.environment().max_input_minutes == settings.MAX_INPUT_MINUTES
        assert settings.environment().aws_region == "eu-west-1"
    assert settings.environment().max_input_minutes == 2


def test_backend_variable_is_the_one_the_stack_sets():
    assert Environment.variable("spark_backend") == stack()["airflow"]["spark_backend_env"]
