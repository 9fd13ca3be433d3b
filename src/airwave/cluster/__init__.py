"""The per-task Spark cluster, without Airflow: the builders of its Kubernetes specs and Spark conf (`specs`), and
the entry point of its driver pod inside the Spark image (`driver`). The Airflow operator that runs them is
`airwave.operators`, the package's only module that imports Airflow."""
