"""Tutorial step 5: the smallest DAG, to watch a DAG file travel to Airflow through git-sync."""

from datetime import datetime

from airflow.sdk import DAG, task

with DAG(dag_id="tutorial_hello", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["tutorial"]):

    @task
    def hello() -> str:
        return "hello from your first DAG"

    hello()
