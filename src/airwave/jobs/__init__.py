"""The three Spark stages: preprocess, transcribe, postprocess. Where each reads and writes, and how it marks its
output done, is layout.py; the schemas of those tables are schemas.py."""
