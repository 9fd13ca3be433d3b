"""`python -m airwave`, and the application file spark-submit runs: spark-submit <this file> stage ..."""
import os
import sys

# Run as a file (spark-submit), Python puts this folder first on sys.path, where `airflow/` (our operator package)
# would shadow the real Airflow; the package is importable from site-packages anyway.
if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

from airwave.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
