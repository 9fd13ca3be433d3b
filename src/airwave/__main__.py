"""`python -m airwave`, and the application file spark-submit runs: spark-submit <this file> stage ..."""

import sys

from airwave.cli import main

if __name__ == "__main__":
    sys.exit(main())
