import atexit
import os
import shutil
import tempfile

# Importing Airflow creates $AIRFLOW_HOME (~/airflow by default): keep tests away from any real one.
# One home per test session (tests/airflow and tests/dags both set it, before Airflow is imported).
if not os.environ.get("AIRWAVE_TEST_AIRFLOW_HOME"):
    os.environ["AIRWAVE_TEST_AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airwave-test-airflow-")
    atexit.register(shutil.rmtree, os.environ["AIRWAVE_TEST_AIRFLOW_HOME"], True)
os.environ["AIRFLOW_HOME"] = os.environ["AIRWAVE_TEST_AIRFLOW_HOME"]
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
